package gateway

import (
	"compress/zlib"
	"io"
)

func zlibReader(r io.Reader) (io.Reader, error) { return zlib.NewReader(r) }

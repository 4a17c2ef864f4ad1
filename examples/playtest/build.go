package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
)

// Build compiles mybot and the gotp CLI into dir and returns their paths.
func Build(ctx context.Context, dir string) (mybot, gotp string, err error) {
	mybot, gotp = filepath.Join(dir, "mybot"), filepath.Join(dir, "gotp")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator),
		"github.com/gotp/gotp/examples/mybot", "github.com/gotp/gotp/cmd/gotp")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return mybot, gotp, nil
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

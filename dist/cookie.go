package dist

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrCookie is matched (errors.Is) by every error about the cookie file.
var ErrCookie = errors.New("cookie")

// CookieFile is the name of the cookie file in the home directory, as in OTP.
const CookieFile = ".erlang.cookie"

// LoadCookie returns the cookie from home/.erlang.cookie ($HOME when home is ""). When the file
// is absent it is created with 20 random upper-case letters and mode 0400, as OTP does. A file
// that group or others may read is refused, as OTP refuses it.
func LoadCookie(home string) (string, error) {
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("%w: no home directory: %w", ErrCookie, err)
		}
		home = h
	}
	path := filepath.Join(home, CookieFile)
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return createCookie(path)
	}
	if err != nil {
		return "", fmt.Errorf("%w file %s: %w", ErrCookie, path, err)
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("%w file %s: not a regular file", ErrCookie, path)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%w file %s must be accessible by owner only (mode %v)", ErrCookie, path, info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w file %s: %w", ErrCookie, path, err)
	}
	cookie := strings.TrimSpace(string(data))
	if cookie == "" {
		return "", fmt.Errorf("%w file %s is empty", ErrCookie, path)
	}
	return cookie, nil
}

func createCookie(path string) (string, error) {
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	buf := make([]byte, 20)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("%w: random: %w", ErrCookie, err)
	}
	for i := range buf {
		buf[i] = letters[int(buf[i])%len(letters)]
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o400)
	if err != nil {
		return "", fmt.Errorf("%w file %s: create: %w", ErrCookie, path, err)
	}
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return "", fmt.Errorf("%w file %s: write: %w", ErrCookie, path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("%w file %s: %w", ErrCookie, path, err)
	}
	return string(buf), nil
}

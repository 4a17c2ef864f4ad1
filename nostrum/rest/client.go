// Package rest is a Discord REST client: per-bucket rate limits learned from the
// response headers (X-RateLimit-Bucket plus the route's major id), the bot-wide global
// limit, 429 handling for the user, global and shared scopes, and bounded retries. It
// implements the endpoints a bot needs: Create Message, Get Gateway Bot, Get Current User.
package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// APIPath is the versioned API path under the base URL.
const APIPath = "/api/v10"

// Errors of the rest package.
var (
	// ErrInvalidConfig is wrapped by every Config validation error.
	ErrInvalidConfig = errors.New("rest: invalid config")
	// ErrRateLimited is matched by a *RateLimitError: the retries ran out on 429s.
	ErrRateLimited = errors.New("rest: rate limited")
)

// APIError is a non-2xx answer from Discord other than a 429.
type APIError struct {
	Method, Route string
	Status        int
	Code          int    // Discord's JSON error code, 0 if none
	Message       string // Discord's message
}

// Error names the request and Discord's answer.
func (e *APIError) Error() string {
	return fmt.Sprintf("rest: %s %s: status %d, code %d: %s", e.Method, e.Route, e.Status, e.Code, e.Message)
}

// RateLimitError reports a request given up after MaxRetries 429s; it matches ErrRateLimited.
type RateLimitError struct {
	Method, Route string
	Scope         string // user, global or shared
	RetryAfter    time.Duration
	Attempts      int
}

// Error names the request, the scope and the attempts.
func (e *RateLimitError) Error() string {
	return fmt.Sprintf("rest: %s %s: still rate limited (%s scope, retry after %v) after %d attempts",
		e.Method, e.Route, e.Scope, e.RetryAfter, e.Attempts)
}

// Unwrap returns ErrRateLimited.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// Config configures a Client. Zero values take the documented defaults.
type Config struct {
	Token        func() string // required; sent only in the Authorization header
	BaseURL      string        // default "https://discord.com"; REST lives under BaseURL + /api/v10
	HTTPClient   *http.Client  // default: a client with a 30 s timeout
	GlobalLimit  int           // requests per GlobalWindow, default 50
	GlobalWindow time.Duration // default 1s
	// GlobalMargin widens GlobalWindow to absorb network jitter (Discord counts arrivals,
	// we count departures); default GlobalWindow/10.
	GlobalMargin     time.Duration
	MaxRetries       int           // retries after 429s and 5xx answers, default 5
	ServerErrorDelay time.Duration // wait before retrying a 5xx, default 1s
	UserAgent        string        // default "DiscordBot (https://github.com/gotp/gotp, 0.1)"
	Logger           *slog.Logger  // default slog.Default()
}

// Validate reports the first invalid field, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	if c.Token == nil {
		return fmt.Errorf("%w: Token is nil", ErrInvalidConfig)
	}
	if c.GlobalLimit < 0 || c.MaxRetries < 0 || c.GlobalWindow < 0 {
		return fmt.Errorf("%w: negative limit", ErrInvalidConfig)
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: BaseURL %q is not an http(s) URL", ErrInvalidConfig, c.BaseURL)
		}
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = "https://discord.com"
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if c.GlobalLimit == 0 {
		c.GlobalLimit = 50
	}
	if c.GlobalWindow == 0 {
		c.GlobalWindow = time.Second
	}
	if c.GlobalMargin == 0 {
		c.GlobalMargin = c.GlobalWindow / 10
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 5
	}
	if c.ServerErrorDelay == 0 {
		c.ServerErrorDelay = time.Second
	}
	if c.UserAgent == "" {
		c.UserAgent = "DiscordBot (https://github.com/gotp/gotp, 0.1)"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Client is safe for concurrent use.
type Client struct {
	cfg    Config
	global *globalLimiter

	mu      sync.Mutex
	routes  map[string]string  // route template → bucket hash learned from headers
	buckets map[string]*bucket // bucket hash (or route template) + major id → state
}

// New checks cfg and returns a client.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Client{
		cfg:     cfg,
		global:  newGlobalLimiter(cfg.GlobalLimit, cfg.GlobalWindow+cfg.GlobalMargin),
		routes:  map[string]string{},
		buckets: map[string]*bucket{},
	}, nil
}

// request is one REST call. Route is the template ("/channels/{id}/messages"), Major the
// value of its major parameter (channel, guild or webhook id), Path the concrete path.
type request struct {
	Method, Route, Major, Path string
	Body                       any
}

// bucketFor returns the bucket of a route + major id: the learned hash once known.
func (c *Client) bucketFor(r request) *bucket {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := r.Method + " " + r.Route
	if hash, ok := c.routes[key]; ok {
		key = "hash:" + hash
	}
	key += "|" + r.Major
	b := c.buckets[key]
	if b == nil {
		b = newBucket()
		c.buckets[key] = b
	}
	return b
}

// learn records the bucket hash of a route; later requests share the hash's state.
func (c *Client) learn(r request, hash string, from *bucket) {
	if hash == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	key := r.Method + " " + r.Route
	if c.routes[key] == hash {
		return
	}
	c.routes[key] = hash
	hk := "hash:" + hash + "|" + r.Major
	if _, ok := c.buckets[hk]; !ok {
		c.buckets[hk] = from
	}
}

// do runs r through the limiters and retries, decoding a 2xx body into out.
func (c *Client) do(ctx context.Context, r request, out any) error {
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = json.Marshal(r.Body); err != nil {
			return fmt.Errorf("rest: %s %s: encoding body: %w", r.Method, r.Route, err)
		}
	}
	b := c.bucketFor(r)
	if err := b.acquire(ctx); err != nil {
		return fmt.Errorf("rest: %s %s: %w", r.Method, r.Route, err)
	}
	defer b.release()
	for attempt := 1; ; attempt++ {
		if err := b.waitReset(ctx); err != nil {
			return fmt.Errorf("rest: %s %s: %w", r.Method, r.Route, err)
		}
		if err := c.global.wait(ctx); err != nil {
			return fmt.Errorf("rest: %s %s: %w", r.Method, r.Route, err)
		}
		resp, err := c.send(ctx, r, body)
		if err != nil {
			return err
		}
		retry, err := c.handle(ctx, r, b, resp, out, attempt)
		if !retry {
			return err
		}
	}
}

func (c *Client) send(ctx context.Context, r request, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, c.cfg.BaseURL+APIPath+r.Path, rd)
	if err != nil {
		return nil, fmt.Errorf("rest: %s %s: %w", r.Method, r.Route, err)
	}
	req.Header.Set("Authorization", "Bot "+c.cfg.Token())
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("rest: %s %s: %w", r.Method, r.Route, err)
	}
	return resp, nil
}

// handle reads one response; it reports whether to retry, else the request's result.
func (c *Client) handle(ctx context.Context, r request, b *bucket, resp *http.Response, out any, attempt int) (bool, error) {
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return false, fmt.Errorf("rest: %s %s: reading body: %w", r.Method, r.Route, err)
	}
	h := resp.Header
	c.learn(r, h.Get("X-RateLimit-Bucket"), b)
	b.update(h, time.Now())
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return c.onRateLimited(ctx, r, b, h, data, attempt)
	case resp.StatusCode >= 500:
		if attempt > c.cfg.MaxRetries {
			return false, &APIError{Method: r.Method, Route: r.Route, Status: resp.StatusCode, Message: "server error"}
		}
		c.cfg.Logger.Warn("discord REST server error; retrying", "route", r.Route, "status", resp.StatusCode, "attempt", attempt)
		return true, sleep(ctx, c.cfg.ServerErrorDelay)
	case resp.StatusCode >= 300:
		e := &APIError{Method: r.Method, Route: r.Route, Status: resp.StatusCode}
		var body struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &body) == nil {
			e.Code, e.Message = body.Code, body.Message
		}
		return false, e
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return false, fmt.Errorf("rest: %s %s: decoding response: %w", r.Method, r.Route, err)
		}
	}
	return false, nil
}

func (c *Client) onRateLimited(ctx context.Context, r request, b *bucket, h http.Header, data []byte, attempt int) (bool, error) {
	var body struct {
		RetryAfter float64 `json:"retry_after"`
		Global     bool    `json:"global"`
	}
	_ = json.Unmarshal(data, &body)
	retry := parseSeconds(h.Get("Retry-After"))
	if body.RetryAfter > 0 {
		retry = time.Duration(body.RetryAfter * float64(time.Second))
	}
	scope := h.Get("X-RateLimit-Scope")
	global := body.Global || h.Get("X-RateLimit-Global") == "true" || scope == "global"
	if scope == "" {
		scope = "user"
		if global {
			scope = "global"
		}
	}
	if retry <= 0 {
		retry = time.Second
	}
	until := time.Now().Add(retry)
	if global {
		c.global.pause(until)
	} else {
		b.pause(until)
	}
	c.cfg.Logger.Warn("discord REST rate limited", "route", r.Route, "scope", scope, "retry_after", retry, "attempt", attempt)
	if attempt > c.cfg.MaxRetries {
		return false, &RateLimitError{Method: r.Method, Route: r.Route, Scope: scope, RetryAfter: retry, Attempts: attempt}
	}
	return true, nil
}

func parseSeconds(s string) time.Duration {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

package dist

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
)

// DefaultMapperPort is the port mapper's well-known port (EPMD's 4369), overridden by the
// ERL_EPMD_PORT environment variable and by Config.MapperPort.
const DefaultMapperPort = 4369

// DefaultMaxFrame is the default cap on one message's payload (16 MiB).
const DefaultMaxFrame = 16 << 20

// ErrInvalidConfig is matched (errors.Is) by every Config.Validate error.
var ErrInvalidConfig = errors.New("invalid dist config")

// TLSConfig names the PEM files for mutual TLS on links and memberlist streams (the `tls` key).
// With TLS on, a peer's certificate must chain to CAFile and name the host part of the peer's
// node name in its SANs; TLS then replaces the links' own AES-GCM layer.
type TLSConfig struct {
	CertFile string // this node's certificate (PEM)
	KeyFile  string // its private key (PEM)
	CAFile   string // the CA certificates peers' certificates must chain to (PEM)
}

// Config configures a node. Zero values mean the documented defaults.
type Config struct {
	// Name is this node's name, "name@host" (required).
	Name Node
	// Kind says whether Name is a short (-sname, default) or long (-name) name; peers of the
	// other kind are refused.
	Kind NameKind
	// Cookie is the cluster secret. "" reads (or creates) Home/.erlang.cookie.
	Cookie string
	// Home is the directory of .erlang.cookie; "" means $HOME.
	Home string
	// Hidden makes this node a hidden peer (a tool like the gotp CLI): it only dials links to
	// named nodes and sends requests; it never listens, never joins the mesh and never appears
	// in membership.
	Hidden bool
	// BindAddr is the IP address to listen on. Default: AdvertiseAddr.
	BindAddr string
	// AdvertiseAddr is the IP address peers reach this node at. Default: the host part of Name
	// when it is an IP address, else its first IPv4 address, else 127.0.0.1.
	AdvertiseAddr string
	// PortMin and PortMax bound the node's one port (kernel inet_dist_listen_min/max). 0 and 0
	// let the system choose; PortMax 0 means PortMin.
	PortMin, PortMax int
	// MapperPort is the port mapper's port on every host. Default: $ERL_EPMD_PORT, else 4369.
	MapperPort int
	// NoMapper disables the port mapper (no registration, no name resolution); peers are then
	// reached through Seeds and memberlist only.
	NoMapper bool
	// Seeds are "host:port" addresses of nodes to join (the `seeds` key). The node re-joins any
	// it does not see, every re-join period of the profile.
	Seeds []string
	// Cluster is the cluster label; "" derives one from the cookie.
	Cluster string
	// Profile is the failure-detection profile; "" means ProfileLAN.
	Profile Profile
	// TLS turns on mutual TLS for links and memberlist streams when non-nil.
	TLS *TLSConfig
	// MaxFrame caps one message's payload in bytes. Default DefaultMaxFrame (16 MiB).
	MaxFrame int
	// Network opens every socket; default RealNetwork.
	Network Network
	// Logger receives the node's logs; default slog.Default().
	Logger *slog.Logger
}

// Validate checks the config without touching the file system or the network.
func (c *Config) Validate() error {
	if c.Name == "" {
		return fmt.Errorf("%w: Name is required", ErrInvalidConfig)
	}
	if err := ValidateKind(c.Name, c.Kind); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if err := c.Profile.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if c.PortMin < 0 || c.PortMin > 65535 || c.PortMax < 0 || c.PortMax > 65535 {
		return fmt.Errorf("%w: port range %d..%d out of 0..65535", ErrInvalidConfig, c.PortMin, c.PortMax)
	}
	if c.PortMax != 0 && c.PortMax < c.PortMin {
		return fmt.Errorf("%w: PortMax %d below PortMin %d", ErrInvalidConfig, c.PortMax, c.PortMin)
	}
	if c.MapperPort < 0 || c.MapperPort > 65535 {
		return fmt.Errorf("%w: MapperPort %d out of range", ErrInvalidConfig, c.MapperPort)
	}
	for _, s := range c.Seeds {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return fmt.Errorf("%w: seed %q: %w", ErrInvalidConfig, s, err)
		}
	}
	for _, a := range []string{c.BindAddr, c.AdvertiseAddr} {
		if a != "" && net.ParseIP(a) == nil {
			return fmt.Errorf("%w: %q is not an IP address", ErrInvalidConfig, a)
		}
	}
	if c.TLS != nil && (c.TLS.CertFile == "" || c.TLS.KeyFile == "" || c.TLS.CAFile == "") {
		return fmt.Errorf("%w: TLS needs CertFile, KeyFile and CAFile", ErrInvalidConfig)
	}
	if c.MaxFrame < 0 {
		return fmt.Errorf("%w: MaxFrame %d is negative", ErrInvalidConfig, c.MaxFrame)
	}
	return nil
}

// withDefaults returns a copy with defaults filled in (the cookie is resolved by Start).
func (c Config) withDefaults() Config {
	if c.Profile == "" {
		c.Profile = ProfileLAN
	}
	if c.MaxFrame == 0 {
		c.MaxFrame = DefaultMaxFrame
	}
	if c.Network == nil {
		c.Network = RealNetwork{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MapperPort == 0 {
		c.MapperPort = DefaultMapperPort
		if p, err := strconv.Atoi(os.Getenv("ERL_EPMD_PORT")); err == nil && p > 0 && p < 65536 {
			c.MapperPort = p
		}
	}
	if c.PortMax == 0 {
		c.PortMax = c.PortMin
	}
	if c.AdvertiseAddr == "" {
		c.AdvertiseAddr = hostIP(c.Name.Host())
	}
	if c.BindAddr == "" {
		c.BindAddr = c.AdvertiseAddr
	}
	return c
}

// hostIP resolves host to an IP address string: itself when it is one, else its first IPv4
// address, else 127.0.0.1.
func hostIP(host string) string {
	if ip := net.ParseIP(host); ip != nil {
		return ip.String()
	}
	addrs, err := net.LookupIP(host)
	if err == nil {
		for _, a := range addrs {
			if v4 := a.To4(); v4 != nil {
				return v4.String()
			}
		}
	}
	return "127.0.0.1"
}

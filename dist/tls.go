package dist

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
)

// loadTLS builds the server and client TLS configs from Config.TLS: TLS 1.3, certificates
// verified against the CA, and the peer's host in its certificate's SANs.
func (e *Endpoint) loadTLS() error {
	t := e.cfg.TLS
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return fmt.Errorf("tls key pair %s/%s: %w", t.CertFile, t.KeyFile, err)
	}
	caPEM, err := os.ReadFile(t.CAFile)
	if err != nil {
		return fmt.Errorf("tls CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("tls CA file %s holds no certificate", t.CAFile)
	}
	e.tlsServer = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}
	e.tlsClient = func(host string) *tls.Config {
		return &tls.Config{
			MinVersion:   tls.VersionTLS13,
			Certificates: []tls.Certificate{cert},
			// The chain and the host are checked below: the host may be "" for memberlist
			// streams dialed by address only, where the chain alone is checked.
			InsecureSkipVerify: true,
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				return verifyChain(raw, pool, host)
			},
		}
	}
	return nil
}

func verifyChain(raw [][]byte, pool *x509.CertPool, host string) error {
	if len(raw) == 0 {
		return errors.New("tls: peer sent no certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, r := range raw {
		c, err := x509.ParseCertificate(r)
		if err != nil {
			return err
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return err
	}
	if host != "" {
		return certs[0].VerifyHostname(host)
	}
	return nil
}

// verifyPeerHost checks, on an accepted TLS link, that the client's certificate names the
// host part of the node name it claims.
func verifyPeerHost(conn net.Conn, n Node) error {
	tc, ok := conn.(*tls.Conn)
	if !ok {
		return errors.New("tls required")
	}
	st := tc.ConnectionState()
	if len(st.PeerCertificates) == 0 {
		return errors.New("no client certificate")
	}
	if err := st.PeerCertificates[0].VerifyHostname(n.Host()); err != nil {
		return fmt.Errorf("certificate does not name %s: %w", n.Host(), err)
	}
	return nil
}

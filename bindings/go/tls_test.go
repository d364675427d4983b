package redkeep

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// makeCerts makes, in dir, a test CA (ca.crt), a server certificate for
// 127.0.0.1 (server.crt, server.key), a client certificate
// (client.crt, client.key), both signed by the CA, and a second CA that
// signed nothing (other-ca.crt). The extensions make them X.509 v3
// certificates, as rustls requires.
func makeCerts(t *testing.T, dir string) {
	t.Helper()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("openssl", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	for _, ca := range []string{"ca", "other-ca"} {
		run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
			"-subj", "/CN=redkeep Go test "+ca, "-keyout", ca+".key", "-out", ca+".crt")
	}
	exts := map[string]string{
		"server": "subjectAltName=IP:127.0.0.1\n",
		"client": "extendedKeyUsage=clientAuth\n",
	}
	for name, ext := range exts {
		if err := os.WriteFile(filepath.Join(dir, name+".cnf"), []byte(ext), 0o600); err != nil {
			t.Fatal(err)
		}
		run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=redkeep Go test "+name,
			"-keyout", name+".key", "-out", name+".csr")
		run("x509", "-req", "-in", name+".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
			"-CAcreateserial", "-days", "1", "-extfile", name+".cnf", "-out", name+".crt")
	}
}

// tlsRedis is a redis-server with TLS on a second port, and the directory
// of its certificates.
type tlsRedis struct {
	*testRedis
	certs string
}

// TLSAddr is the address of the TLS port.
func (r *tlsRedis) TLSAddr() string { return "127.0.0.1:" + strconv.Itoa(r.tlsPort) }

func (r *tlsRedis) file(name string) string { return filepath.Join(r.certs, name) }

// startRedisTLS starts a redis-server with TLS on free ports, with
// certificates made in t.TempDir(); mutual: clients must show a
// certificate signed by the test CA.
func startRedisTLS(t *testing.T, mutual bool) *tlsRedis {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not found")
	}
	dir := t.TempDir()
	makeCerts(t, dir)
	auth := "no"
	if mutual {
		auth = "yes"
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		r := &testRedis{t: t, port: freePort(t), tlsPort: freePort(t), tlsArgs: []string{
			"--tls-cert-file", filepath.Join(dir, "server.crt"),
			"--tls-key-file", filepath.Join(dir, "server.key"),
			"--tls-ca-cert-file", filepath.Join(dir, "ca.crt"),
			"--tls-auth-clients", auth,
		}}
		if lastErr = r.start(); lastErr == nil {
			t.Cleanup(r.Kill)
			return &tlsRedis{testRedis: r, certs: dir}
		}
	}
	t.Fatalf("cannot start redis-server with TLS: %v", lastErr)
	return nil
}

func openTLS(addr string, tls *TLSOptions) (*Pool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return Open(ctx, Options{Addr: addr, TLS: tls, DialTimeout: 2 * time.Second})
}

func setGet(t *testing.T, p *Pool) {
	t.Helper()
	ctx := context.Background()
	if err := p.Set(ctx, "go:tls", "over tls", 0).Err(); err != nil {
		t.Fatalf("SET over TLS: %v", err)
	}
	if v, err := p.Get(ctx, "go:tls").Result(); err != nil || v != "over tls" {
		t.Fatalf("GET over TLS: %q, %v", v, err)
	}
}

func TestTLSWithTheCAFileConnects(t *testing.T) {
	r := startRedisTLS(t, false)
	p, err := openTLS(r.TLSAddr(), &TLSOptions{CAFile: r.file("ca.crt")})
	if err != nil {
		t.Fatalf("Open with CAFile: %v", err)
	}
	defer p.Close()
	setGet(t, p)

	// A redis:// URL is upgraded by Options.TLS.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p2, err := Open(ctx, Options{URL: "redis://" + r.TLSAddr(), TLS: &TLSOptions{CAFile: r.file("ca.crt")}})
	if err != nil {
		t.Fatalf("Open with a redis:// URL and TLS: %v", err)
	}
	defer p2.Close()
	setGet(t, p2)
}

func TestTLSInsecureSkipVerifyNeedsNoCA(t *testing.T) {
	r := startRedisTLS(t, false)
	p, err := openTLS(r.TLSAddr(), &TLSOptions{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("Open with InsecureSkipVerify: %v", err)
	}
	defer p.Close()
	setGet(t, p)
}

func TestMutualTLSWithCertFileAndKeyFile(t *testing.T) {
	r := startRedisTLS(t, true)
	p, err := openTLS(r.TLSAddr(), &TLSOptions{
		CAFile:   r.file("ca.crt"),
		CertFile: r.file("client.crt"),
		KeyFile:  r.file("client.key"),
	})
	if err != nil {
		t.Fatalf("Open with a client certificate: %v", err)
	}
	defer p.Close()
	setGet(t, p)

	// Without a client certificate the server ends the handshake.
	_, err = openTLS(r.TLSAddr(), &TLSOptions{CAFile: r.file("ca.crt")})
	if err == nil {
		t.Fatal("Open without a client certificate succeeded against tls-auth-clients yes")
	}
	t.Logf("without a client certificate: %v", err)
	if !errors.Is(err, ErrConnection) {
		t.Fatalf("want ErrConnection, got %v", err)
	}
}

func TestTLSWithAWrongCAIsAConnectionError(t *testing.T) {
	r := startRedisTLS(t, false)
	started := time.Now()
	_, err := openTLS(r.TLSAddr(), &TLSOptions{CAFile: r.file("other-ca.crt")})
	if err == nil {
		t.Fatal("Open with a CA that did not sign the server's certificate succeeded")
	}
	t.Logf("wrong CA, after %v: %v", time.Since(started), err)
	if !errors.Is(err, ErrConnection) {
		t.Fatalf("want ErrConnection, got %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Status != StatusConnection {
		t.Fatalf("want *Error with StatusConnection, got %#v", err)
	}
}

func TestTLSOptionsErrorsNameTheGoFields(t *testing.T) {
	r := startRedisTLS(t, false)
	_, err := openTLS(r.TLSAddr(), &TLSOptions{CAFile: r.file("ca.crt"), CertFile: r.file("client.crt")})
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "TLSOptions.KeyFile") {
		t.Fatalf("CertFile without KeyFile: want ErrConfig naming TLSOptions.KeyFile, got %v", err)
	}
	missing := filepath.Join(t.TempDir(), "nope.crt")
	_, err = openTLS(r.TLSAddr(), &TLSOptions{CAFile: missing})
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("a missing CAFile: want ErrConfig naming the file, got %v", err)
	}
	_, err = openTLS(r.TLSAddr(), &TLSOptions{CAFile: "ca\x00.crt"})
	if !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("a NUL in CAFile: want ErrInvalidArgument, got %v", err)
	}
}

// The zero TLSOptions is TLS verified against the built-in web roots, even
// for a plain Addr: the test CA is not among them, so the handshake itself
// refuses the server (a plain-text connect would fail otherwise).
func TestZeroTLSOptionsAreTLSAgainstTheWebRoots(t *testing.T) {
	r := startRedisTLS(t, false)
	_, err := openTLS(r.TLSAddr(), &TLSOptions{})
	if err == nil || !errors.Is(err, ErrConnection) || !strings.Contains(err.Error(), "UnknownIssuer") {
		t.Fatalf("want a TLS ErrConnection (UnknownIssuer), got %v", err)
	}
}

package redkeep

/*
#include <stdlib.h>
#include "redkeep.h"
*/
import "C"

import "strings"

// TLSOptions configure TLS for a Pool (Options.TLS). The zero value is TLS
// verified against the built-in web roots.
//
// A file that cannot be read is an error matching ErrConfig that names the
// file; a server certificate the CA does not vouch for, or a server that
// wants a client certificate and gets none, one matching ErrConnection.
type TLSOptions struct {
	// CAFile is a PEM file with the CA certificate(s) to trust instead of
	// the built-in web roots. Default: "" (the web roots).
	CAFile string
	// CertFile is a PEM file with a client certificate, for servers with
	// tls-auth-clients yes (mutual TLS). Needs KeyFile. Default: "".
	CertFile string
	// KeyFile is a PEM file with CertFile's private key; the key is never
	// logged or put in errors. Default: "".
	KeyFile string
	// InsecureSkipVerify skips verifying the server's certificate: the
	// connection is then open to a man in the middle, so only for tests.
	// Default: false.
	InsecureSkipVerify bool
}

// cTLS holds the C strings set into a redkeep_pool_options until the call
// that takes the options returns.
type cTLS struct{ strs []*C.char }

// toC sets the tls_* fields of opts; free the result after the call.
func (o *TLSOptions) toC(opts *C.redkeep_pool_options) (*cTLS, error) {
	for _, f := range []struct{ name, path string }{
		{"TLSOptions.CAFile", o.CAFile}, {"TLSOptions.CertFile", o.CertFile}, {"TLSOptions.KeyFile", o.KeyFile},
	} {
		if strings.IndexByte(f.path, 0) >= 0 {
			return nil, invalidArgument(f.name + " contains a NUL byte")
		}
	}
	c := &cTLS{}
	str := func(s string) *C.char {
		p := cString(s)
		if p != nil {
			c.strs = append(c.strs, p)
		}
		return p
	}
	opts.tls_ca_file = str(o.CAFile)
	opts.tls_cert_file = str(o.CertFile)
	opts.tls_key_file = str(o.KeyFile)
	opts.tls_insecure = C.bool(o.InsecureSkipVerify)
	// TLS even with no field set: the library makes the address TLS.
	opts.tls = true
	return c, nil
}

func (c *cTLS) free() {
	for _, s := range c.strs {
		freeCString(s)
	}
	c.strs = nil
}

package redkeep

/*
#include <stdlib.h>
#include "redkeep.h"
*/
import "C"

import "unsafe"

// cServerOptions is a C redkeep_server_options with the C memory it
// points to; free releases that memory.
type cServerOptions struct {
	opts    C.redkeep_server_options
	strings []*C.char
	args    unsafe.Pointer
}

func (o *ServerOptions) toC() (*cServerOptions, error) {
	c := &cServerOptions{}
	C.redkeep_server_options_default(&c.opts)
	str := func(s string) *C.char {
		p := cString(s)
		if p != nil {
			c.strings = append(c.strings, p)
		}
		return p
	}
	if o.UnixSocket {
		c.opts.unix_socket = true
		c.opts.unix_path = str(o.UnixPath)
	} else {
		host, port, err := o.hostPort()
		if err != nil {
			return nil, err
		}
		c.opts.host = str(host)
		c.opts.port = C.uint16_t(port)
	}
	c.opts.binary = str(o.Binary)
	c.opts.dir = str(o.Dir)
	c.opts.password = str(o.Password)
	c.opts.guard = str(o.Guard)
	if n := len(o.Args); n > 0 {
		c.args = C.malloc(C.size_t(n) * C.size_t(unsafe.Sizeof((*C.char)(nil))))
		arr := unsafe.Slice((**C.char)(c.args), n)
		for i, a := range o.Args {
			arr[i] = C.CString(a)
			c.strings = append(c.strings, arr[i])
		}
		c.opts.args = (**C.char)(c.args)
		c.opts.args_len = C.size_t(n)
	}
	c.opts.persistence = C.bool(o.Persistence)
	c.opts.tls = C.bool(o.TLS)
	if o.ReadyTimeout > 0 {
		c.opts.ready_timeout_ms = C.uint32_t(millis(o.ReadyTimeout))
	}
	switch {
	case o.NoRestart:
		c.opts.max_restarts = 0
	case o.MaxRestarts > 0:
		c.opts.max_restarts = C.uint32_t(o.MaxRestarts)
	}
	return c, nil
}

func (c *cServerOptions) free() {
	for _, p := range c.strings {
		C.free(unsafe.Pointer(p))
	}
	c.strings = nil
	if c.args != nil {
		C.free(c.args)
		c.args = nil
	}
}

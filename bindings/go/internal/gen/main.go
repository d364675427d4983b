// Command gen writes commands_gen.go, the typed command methods, from the
// table in commands.txt (run by `go generate` in bindings/go).
//
// Each line of the table is
//
//	Name(params) *ResultCmd = args   # doc
//
// params are Go parameters (after ctx); args are the command's words:
// a parameter's name stands for its value, `name...` spreads a slice
// parameter, `sec(name)`, `ms(name)` and `fsec(name)` write a
// time.Duration as whole seconds, milliseconds or fractional seconds,
// `unix(name)`/`unixms(name)` a time.Time, a "quoted" word is sent as is
// (for a word that is also a parameter's name), and any other word is sent
// as is. `= build:fn` calls the hand-written fn(params...) for the arguments
// instead. A result written `*DurationCmd[time.Second]` passes that
// precision to its constructor. Lines starting with `##` head a family.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"os"
	"regexp"
	"strings"
)

func main() {
	table := flag.String("table", "internal/gen/commands.txt", "the command table")
	out := flag.String("out", "commands_gen.go", "the file to write")
	flag.Parse()
	src, err := os.ReadFile(*table)
	if err != nil {
		fail(err)
	}
	code, err := generate(string(src))
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(*out, code, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}

type param struct{ name, typ string }

type command struct {
	name      string
	params    []param
	result    string // "StringCmd"
	precision string // for DurationCmd
	args      []string
	builder   string
	doc       string
	family    string
}

var lineRE = regexp.MustCompile(`^(\w+)\((.*?)\)\s+\*(\w+)(?:\[([\w.]+)\])?\s*=\s*(.*?)\s*(?:#\s*(.*))?$`)

func parse(src string) ([]command, error) {
	var cmds []command
	family := ""
	seen := map[string]bool{}
	for i, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "##"):
			family = strings.TrimSpace(strings.TrimPrefix(line, "##"))
			continue
		case strings.HasPrefix(line, "#"):
			continue
		}
		m := lineRE.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("line %d: cannot parse %q", i+1, line)
		}
		c := command{name: m[1], result: m[3], precision: m[4], doc: m[6], family: family}
		if seen[c.name] {
			return nil, fmt.Errorf("line %d: %s twice", i+1, c.name)
		}
		seen[c.name] = true
		ps, err := parseParams(m[2])
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", i+1, err)
		}
		c.params = ps
		if b, ok := strings.CutPrefix(m[5], "build:"); ok {
			c.builder = b
		} else {
			c.args = strings.Fields(m[5])
			if len(c.args) == 0 {
				return nil, fmt.Errorf("line %d: no arguments", i+1)
			}
		}
		if c.doc == "" {
			return nil, fmt.Errorf("line %d: %s has no doc", i+1, c.name)
		}
		cmds = append(cmds, c)
	}
	return cmds, nil
}

// parseParams reads "key, field string, incr int64, values ...any".
func parseParams(s string) ([]param, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out []param
	var pending []string
	for _, part := range strings.Split(s, ",") {
		f := strings.Fields(part)
		switch len(f) {
		case 1:
			pending = append(pending, f[0])
		case 2:
			for _, n := range pending {
				out = append(out, param{n, f[1]})
			}
			pending = nil
			out = append(out, param{f[0], f[1]})
		default:
			return nil, fmt.Errorf("bad parameter %q", part)
		}
	}
	if len(pending) > 0 {
		return nil, fmt.Errorf("parameters %v have no type", pending)
	}
	return out, nil
}

func (c command) signature() string {
	var b strings.Builder
	b.WriteString(c.name + "(ctx context.Context")
	for _, p := range c.params {
		b.WriteString(", " + p.name + " " + p.typ)
	}
	b.WriteString(") *" + c.result)
	return b.String()
}

func (c command) param(name string) (param, bool) {
	for _, p := range c.params {
		if p.name == name {
			return p, true
		}
	}
	return param{}, false
}

var fnRE = regexp.MustCompile(`^(sec|ms|fsec|unix|unixms)\((\w+)\)$`)

func (c command) body() (string, error) {
	var b strings.Builder
	ctor := "New" + c.result + "(ctx, "
	if c.precision != "" {
		ctor = "New" + c.result + "(ctx, " + c.precision + ", "
	}
	if c.builder != "" {
		names := make([]string, len(c.params))
		for i, p := range c.params {
			names[i] = p.name
			if strings.HasPrefix(p.typ, "...") {
				names[i] += "..."
			}
		}
		fmt.Fprintf(&b, "\tcmd := %sargs%s(%s)...)\n", ctor, c.builder, strings.Join(names, ", "))
		return b.String(), nil
	}
	var fixed []string
	var spread []param
	for _, a := range c.args {
		if strings.HasPrefix(a, `"`) {
			fixed = append(fixed, a)
			continue
		}
		if name, ok := strings.CutSuffix(a, "..."); ok {
			p, found := c.param(name)
			if !found {
				return "", fmt.Errorf("%s: %s is not a parameter", c.name, name)
			}
			spread = append(spread, p)
			fixed = append(fixed, "\x00"+name)
			continue
		}
		if m := fnRE.FindStringSubmatch(a); m != nil {
			if _, found := c.param(m[2]); !found {
				return "", fmt.Errorf("%s: %s is not a parameter", c.name, m[2])
			}
			fixed = append(fixed, map[string]string{
				"sec": "formatSec", "ms": "formatMs", "fsec": "formatFSec",
				"unix": "formatUnix", "unixms": "formatUnixMs",
			}[m[1]]+"("+m[2]+")")
			continue
		}
		if _, found := c.param(a); found {
			fixed = append(fixed, a)
			continue
		}
		fixed = append(fixed, fmt.Sprintf("%q", a))
	}
	if len(spread) == 0 {
		fmt.Fprintf(&b, "\tcmd := %s%s)\n", ctor, strings.Join(fixed, ", "))
		return b.String(), nil
	}
	size := fmt.Sprint(len(fixed) - len(spread))
	for _, p := range spread {
		size += "+len(" + p.name + ")"
	}
	fmt.Fprintf(&b, "\targs := make([]any, 0, %s)\n", size)
	for _, f := range fixed {
		if name, ok := strings.CutPrefix(f, "\x00"); ok {
			p, _ := c.param(name)
			if p.typ == "...Z" {
				fmt.Fprintf(&b, "\tfor _, z := range %s {\n\t\targs = append(args, z.Score, z.Member)\n\t}\n", name)
			} else if p.typ == "...any" || p.typ == "[]any" {
				fmt.Fprintf(&b, "\targs = appendArgs(args, %s)\n", name)
			} else {
				fmt.Fprintf(&b, "\tfor _, a := range %s {\n\t\targs = append(args, a)\n\t}\n", name)
			}
			continue
		}
		fmt.Fprintf(&b, "\targs = append(args, %s)\n", f)
	}
	fmt.Fprintf(&b, "\tcmd := %sargs...)\n", ctor)
	return b.String(), nil
}

func generate(src string) ([]byte, error) {
	cmds, err := parse(src)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("// Code generated by internal/gen from internal/gen/commands.txt; DO NOT EDIT.\n\n")
	b.WriteString("package redkeep\n\nimport (\n\t\"context\"\n\t\"time\"\n)\n\n")
	b.WriteString("var _ = time.Second\n\n")
	b.WriteString("// Cmdable is every typed command, with go-redis's names, arguments and\n")
	b.WriteString("// result types: Pool, Tx and Pipeliner have them all.\n")
	b.WriteString("type Cmdable interface {\n")
	family := ""
	for _, c := range cmds {
		if c.family != family {
			family = c.family
			fmt.Fprintf(&b, "\n\t// %s\n", family)
		}
		fmt.Fprintf(&b, "\t%s\n", c.signature())
	}
	b.WriteString("}\n\n")
	for _, c := range cmds {
		body, err := c.body()
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "// %s %s\n", c.name, c.doc)
		fmt.Fprintf(&b, "func (c cmdable) %s {\n%s\t_ = c(ctx, cmd)\n\treturn cmd\n}\n\n", c.signature(), body)
	}
	return format.Source(b.Bytes())
}

package main

import (
	"bytes"
	"os"
	"testing"
)

// The committed commands_gen.go is what the table generates: run
// `go generate` in bindings/go after editing commands.txt.
func TestGeneratedFileIsUpToDate(t *testing.T) {
	src, err := os.ReadFile("commands.txt")
	if err != nil {
		t.Fatal(err)
	}
	want, err := generate(string(src))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../commands_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("commands_gen.go is stale: run `go generate` in bindings/go")
	}
}

func TestATableErrorNamesTheLine(t *testing.T) {
	_, err := generate("## strings\nGet(key string) *StringCmd = get nokey...  # x\n")
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("nokey is not a parameter")) {
		t.Fatalf("want an error naming nokey, got %v", err)
	}
	_, err = generate("Get(key string) *StringCmd = get key\n")
	if err == nil {
		t.Fatal("a line without a doc must be refused")
	}
}

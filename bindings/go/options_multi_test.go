package redkeep

import (
	"errors"
	"strings"
	"testing"
)

func TestOptionsURLForSentinelAndCluster(t *testing.T) {
	cases := []struct {
		name string
		opt  Options
		want string
	}{
		{"cluster", Options{Addrs: []string{"127.0.0.1:7000", "127.0.0.1:7001"}},
			"redis://127.0.0.1:7000,redis://127.0.0.1:7001"},
		{"cluster credentials encoded", Options{Addrs: []string{"h:1", "h:2"}, Username: "u", Password: "p@:/?&%"},
			"redis://u:p%40%3A%2F%3F%26%25@h:1,redis://u:p%40%3A%2F%3F%26%25@h:2"},
		{"one seed in cluster mode", Options{Addrs: []string{"h:1"}, IsClusterMode: true}, "redis://h:1,"},
		{"one addr is one server", Options{Addrs: []string{"h:1"}, DB: 2}, "redis://h:1/2"},
		{"sentinel", Options{MasterName: "mymaster", SentinelAddrs: []string{"h:1", "h:2"}},
			"redis+sentinel://h:1,h:2/mymaster"},
		{"sentinel via Addrs", Options{MasterName: "m", Addrs: []string{"h:1"}, DB: 3},
			"redis+sentinel://h:1/m/3"},
		{"sentinel credentials kept apart", Options{
			MasterName: "m", SentinelAddrs: []string{"h:1"}, Password: "mp&",
			SentinelUsername: "su", SentinelPassword: "s p=&+",
		}, "redis+sentinel://:mp%26@h:1/m?sentinel_username=su&sentinel_password=s%20p%3D%26%2B"},
	}
	for _, c := range cases {
		got, err := c.opt.url()
		if err != nil || got != c.want {
			t.Errorf("%s: url() = %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

func TestOptionsURLRejectsMixedForms(t *testing.T) {
	cases := []struct {
		opt  Options
		want string
	}{
		{Options{URL: "redis://h:1", Addrs: []string{"h:2", "h:3"}}, "cannot be combined"},
		{Options{URL: "redis://h:1", MasterName: "m"}, "cannot be combined"},
		{Options{Addr: "h:1", Addrs: []string{"h:2"}}, "cannot be combined"},
		{Options{SentinelAddrs: []string{"h:1"}}, "need MasterName"},
		{Options{MasterName: "m"}, "needs SentinelAddrs"},
		{Options{MasterName: "m", SentinelAddrs: []string{"h:1"}, Addrs: []string{"h:2"}}, "both set"},
		{Options{Addrs: []string{"h:1", "nohost"}}, "Addrs[1]"},
		{Options{Addrs: []string{"h:1", "h:2"}, DB: 1}, "DB must be 0"},
		{Options{IsClusterMode: true}, "needs Addrs"},
	}
	for _, c := range cases {
		_, err := c.opt.url()
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err %v; want ErrInvalidArgument with %q", c.opt, err, c.want)
		}
	}
}

package devstack

import (
	"fmt"
	"net"
	"strconv"

	"github.com/alicebob/miniredis/v2"
)

// RedisServer is an in-process Redis-protocol server for development and
// tests when no real Redis is configured. It keeps data in memory only,
// which matches deiops' rule that Redis holds nothing that cannot be rebuilt.
type RedisServer struct {
	m *miniredis.Miniredis
}

// StartRedis listens on host:port (port 0 picks a free one).
func StartRedis(host string, port int) (*RedisServer, error) {
	if host == "" {
		host = "127.0.0.1"
	}
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr(net.JoinHostPort(host, strconv.Itoa(port))); err != nil {
		return nil, fmt.Errorf("start in-process redis: %w", err)
	}
	return &RedisServer{m: m}, nil
}

// URL is a redis:// URL for go-redis.
func (r *RedisServer) URL() string { return "redis://" + r.m.Addr() + "/0" }

// Stop closes the server.
func (r *RedisServer) Stop() { r.m.Close() }

// FlushAll drops every key (fault tests use it to prove nothing is lost).
func (r *RedisServer) FlushAll() { r.m.FlushAll() }

// Port is the port the server listens on (to restart it there after Stop).
func (r *RedisServer) Port() int {
	p, _ := strconv.Atoi(r.m.Port())
	return p
}

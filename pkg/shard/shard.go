// Package shard decides where a customer's data lives in a sharded store:
// four partitioning schemes behind one interface ([Partitioner]: modulo N, a
// consistent-hash ring with virtual nodes, jump consistent hash and
// rendezvous hashing), what each one moves when shards are added or removed
// ([Moved]), a lookup layer that routes reads and writes while ranges of keys
// migrate ([Router]), replica placement across availability zones
// ([Place]), salted routing keys for hot customers ([SaltedKey]) and a
// capacity calculator ([Plan]).
//
// It is the real code behind notebooks/04-sharding.ipynb; the time-series
// store built on it is in pkg/shard/store, the traffic in pkg/shard/workload,
// the skew metrics in pkg/shard/skew, hot-customer handling in
// pkg/shard/hot, and the notebook's experiments in pkg/shard/lab.
//
// Keys are hashed once with xxhash ([Hash]); partitioners map the 64-bit
// hash to a shard id, so one hash serves every scheme.
package shard

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/cespare/xxhash/v2"
)

// Hash returns the 64-bit xxhash of key, the hash every scheme here starts
// from.
func Hash(key string) uint64 { return xxhash.Sum64String(key) }

// ErrEmptyKey is returned for an empty key: an empty customer id is a bug
// upstream, and hashing it would silently pile every such event on one shard.
var ErrEmptyKey = errors.New("shard: empty key")

// SaltedKey returns the routing key of a customer's sub-shard salt: the
// customer itself for salt 0, "customer#salt" otherwise. Salt 0 being the
// unsalted key means that raising a customer's salt factor from 1 to k
// leaves its existing data where it is.
func SaltedKey(customer string, salt int) (string, error) {
	if customer == "" {
		return "", ErrEmptyKey
	}
	if salt < 0 {
		return "", fmt.Errorf("shard: salt must be >= 0, got %d", salt)
	}
	if salt == 0 {
		return customer, nil
	}
	return customer + "#" + strconv.Itoa(salt), nil
}

// SaltedShards returns the shards of a customer's salts 0..salts-1, in salt
// order (two salts may share a shard).
func SaltedShards(p Partitioner, customer string, salts int) ([]int, error) {
	if salts < 1 {
		return nil, fmt.Errorf("shard: salt factor must be at least 1, got %d", salts)
	}
	out := make([]int, salts)
	for s := range out {
		k, err := SaltedKey(customer, s)
		if err != nil {
			return nil, err
		}
		if out[s], err = Locate(p, k); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Locate returns the shard of key under p.
func Locate(p Partitioner, key string) (int, error) {
	if p == nil {
		return 0, errors.New("shard: nil partitioner")
	}
	if key == "" {
		return 0, ErrEmptyKey
	}
	return p.ShardOf(Hash(key)), nil
}

// ShardFunc adapts p to the func(key) (shard, error) form the composite-key
// functions of solutions/shard take.
func ShardFunc(p Partitioner) func(string) (int, error) {
	return func(key string) (int, error) { return Locate(p, key) }
}

// checkIDs validates a list of shard ids: at least one, none negative, no
// duplicates.
func checkIDs(ids []int) error {
	if len(ids) == 0 {
		return errors.New("shard: at least one shard is needed, got 0")
	}
	seen := make(map[int]bool, len(ids))
	for _, id := range ids {
		if id < 0 {
			return fmt.Errorf("shard: shard ids must be >= 0, got %d", id)
		}
		if seen[id] {
			return fmt.Errorf("shard: shard id %d appears twice", id)
		}
		seen[id] = true
	}
	return nil
}

// Seq returns the shard ids 0..n-1.
func Seq(n int) ([]int, error) {
	if n < 1 {
		return nil, fmt.Errorf("shard: the number of shards must be at least 1, got %d", n)
	}
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i
	}
	return ids, nil
}

func maxID(ids []int) int { return slices.Max(ids) }

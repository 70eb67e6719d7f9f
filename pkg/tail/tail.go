// Package tail simulates the "tail at scale" effect that the first notebook
// uses as its opening experiment: a request that fans out to k servers must
// wait for the slowest of them, so rare slow responses from each server
// become common slow requests.
//
// The simulation is deterministic: the same Config (seed included) gives the
// same latencies on every run and every machine.
package tail

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Config describes one simulated workload.
type Config struct {
	// Seed fixes every random draw.
	Seed uint64
	// Requests is how many client requests to simulate.
	Requests int
	// FanOut is how many servers each request waits for (>= 1).
	FanOut int
	// MedianMS is a server's median response time in milliseconds.
	MedianMS float64
	// Spread is the log-normal sigma of server response times (0 = constant).
	Spread float64
	// SlowProb is the chance that one server response is slow (a GC pause, a
	// busy disk), in [0, 1).
	SlowProb float64
	// SlowFactor multiplies a slow response's time (>= 1).
	SlowFactor float64
}

// Default is the notebook's workload: servers answer in about 10 ms, and one
// response in a hundred takes ten times longer.
func Default() Config {
	return Config{Seed: 1, Requests: 20000, FanOut: 1, MedianMS: 10, Spread: 0.25, SlowProb: 0.01, SlowFactor: 10}
}

// Validate reports the first problem with the configuration.
func (c Config) Validate() error {
	switch {
	case c.Requests < 1:
		return fmt.Errorf("requests must be at least 1, got %d", c.Requests)
	case c.FanOut < 1:
		return fmt.Errorf("fan-out must be at least 1, got %d", c.FanOut)
	case !(c.MedianMS > 0):
		return fmt.Errorf("median latency must be positive, got %v ms", c.MedianMS)
	case c.Spread < 0 || math.IsNaN(c.Spread):
		return fmt.Errorf("spread must be >= 0, got %v", c.Spread)
	case c.SlowProb < 0 || c.SlowProb >= 1 || math.IsNaN(c.SlowProb):
		return fmt.Errorf("slow probability must be in [0, 1), got %v", c.SlowProb)
	case c.SlowFactor < 1 || math.IsNaN(c.SlowFactor):
		return fmt.Errorf("slow factor must be >= 1, got %v", c.SlowFactor)
	}
	return nil
}

// Simulate returns each request's latency in milliseconds: the maximum of
// FanOut server response times.
func Simulate(c Config) ([]float64, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x7461696c)) // stream "tail"
	out := make([]float64, c.Requests)
	for i := range out {
		worst := 0.0
		for k := 0; k < c.FanOut; k++ {
			v := c.MedianMS * math.Exp(c.Spread*rng.NormFloat64())
			if rng.Float64() < c.SlowProb {
				v *= c.SlowFactor
			}
			worst = math.Max(worst, v)
		}
		out[i] = worst
	}
	return out, nil
}

// SlowRequestChance is the probability that a request fanning out to k
// servers meets at least one slow response: 1 - (1-p)^k.
func SlowRequestChance(p float64, k int) (float64, error) {
	if p < 0 || p > 1 || math.IsNaN(p) {
		return 0, errors.New("probability must be in [0, 1]")
	}
	if k < 0 {
		return 0, fmt.Errorf("fan-out must be >= 0, got %d", k)
	}
	return 1 - math.Pow(1-p, float64(k)), nil
}

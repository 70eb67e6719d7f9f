package oversell

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// sweep runs strategy over seeds 1..n and sums the anomalies.
func sweep(t *testing.T, base Config, n int) (oversold, falsely, shipped int, runs []Result) {
	t.Helper()
	for seed := uint64(1); seed <= uint64(n); seed++ {
		cfg := base
		cfg.Seed = seed
		r, err := Run(cfg)
		require.NoError(t, err)
		require.Equal(t, cfg.Orders, r.Shipped+r.Refused+r.PaymentFailed, "seed %d: every order has one outcome", seed)
		oversold, falsely, shipped = oversold+r.Oversold, falsely+r.FalselyRefused, shipped+r.Shipped
		runs = append(runs, r)
	}
	return oversold, falsely, shipped, runs
}

func TestConcurrentSagasShowTheAnomaliesEachCountermeasureRemoves(t *testing.T) {
	for _, c := range []struct {
		strategy                  Strategy
		oversells, refusesFalsely bool
	}{
		{ReadThenWrite, true, true},
		{Commutative, false, true},
		{Reread, false, true},
		{SemanticLock, false, false},
	} {
		t.Run(c.strategy.String(), func(t *testing.T) {
			cfg := Default()
			cfg.Strategy = c.strategy
			oversold, falsely, shipped, runs := sweep(t, cfg, 100)
			t.Logf("%v: over 100 seeds %d oversold, %d falsely refused, %d shipped; seed 1 %+v", c.strategy, oversold, falsely, shipped, runs[0])
			require.Equal(t, c.oversells, oversold > 0, "oversold %d", oversold)
			if c.strategy != ReadThenWrite {
				require.Equal(t, c.refusesFalsely, falsely > 0, "falsely refused %d", falsely)
			}
		})
	}
}

func TestASerialRunHasNoAnomalyWhateverTheStrategy(t *testing.T) {
	for _, s := range Strategies {
		cfg := Default()
		cfg.Strategy, cfg.Serial = s, true
		oversold, falsely, _, _ := sweep(t, cfg, 20)
		require.Zero(t, oversold, "%v", s)
		require.Zero(t, falsely, "%v", s)
	}
}

func TestRunsAreDeterministic(t *testing.T) {
	for _, s := range Strategies {
		cfg := Default()
		cfg.Strategy = s
		a, err := Run(cfg)
		require.NoError(t, err)
		b, err := Run(cfg)
		require.NoError(t, err)
		require.Equal(t, a, b)
	}
}

func TestRunRefusesBadInput(t *testing.T) {
	for name, mut := range map[string]func(*Config){
		"negative stock":         func(c *Config) { c.Stock = -1 },
		"no orders":              func(c *Config) { c.Orders = 0 },
		"a zero step":            func(c *Config) { c.Step = 0 },
		"a probability above 1":  func(c *Config) { c.PayFail = 1.5 },
		"an unknown strategy":    func(c *Config) { c.Strategy = Strategy(9) },
		"negative arrivals span": func(c *Config) { c.Arrivals = -1 },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := Default()
			mut(&cfg)
			_, err := Run(cfg)
			require.Error(t, err)
		})
	}
	require.Equal(t, "Strategy(9)", fmt.Sprint(Strategy(9)))
}

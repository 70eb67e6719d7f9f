package twopc

import (
	"fmt"

	"github.com/dsgym/dsgym/pkg/txn/fault"
)

func callRecover(f RecoverFunc, log []Kind) (r Recovery, err error) {
	defer func() {
		if v := recover(); v != nil {
			fault.PassStub(v)
			err = fmt.Errorf("panicked: %v", v)
		}
	}()
	return f(log)
}

func callPhase2(f Phase2Func, parts []string, votes map[string]Vote) (es []Effect, err error) {
	defer func() {
		if v := recover(); v != nil {
			fault.PassStub(v)
			err = fmt.Errorf("panicked: %v", v)
		}
	}()
	return f(parts, votes)
}

func callTerminate(f TerminateFunc, answers []PeerState) (d Decision, err error) {
	defer func() {
		if v := recover(); v != nil {
			fault.PassStub(v)
			err = fmt.Errorf("panicked: %v", v)
		}
	}()
	d = f(answers)
	if d != NoDecision && d != Commit && d != Abort {
		return d, fmt.Errorf("returned %v, which is not Commit, Abort or NoDecision", d)
	}
	return d, nil
}

package session

import "github.com/dsgym/dsgym/pkg/session"

// CheckReadYourWrites returns every successful read in h that returned an
// older version of a key than the latest acknowledged write its own session
// had made to that key before the read, in history order. Failed writes do
// not count (their outcome is unknown); failed reads returned nothing.
// Sessions move between replicas (a failover, a load balancer): what counts
// is the session, not the replica. Each violation names the read (Op), the
// write it missed (Cause), the version wanted (that write's) and the one got.
//
//dsgym:exercise session/check-ryw
func CheckReadYourWrites(h session.History) []session.Violation {
	//dsgym:solution
	type write struct {
		version uint64
		op      int
	}
	type sessionKey struct {
		session int
		key     string
	}
	latest := map[sessionKey]write{}
	var out []session.Violation
	for i, o := range h {
		if !o.OK() {
			continue
		}
		k := sessionKey{o.Session, o.Key}
		switch o.Kind {
		case session.Write:
			if w, ok := latest[k]; !ok || o.Version > w.version {
				latest[k] = write{o.Version, i}
			}
		case session.Read:
			if w, ok := latest[k]; ok && o.Version < w.version {
				out = append(out, session.Violation{Guarantee: session.ReadYourWrites, Session: o.Session, Key: o.Key,
					Op: i, Cause: w.op, Want: w.version, Got: o.Version})
			}
		}
	}
	return out
	//dsgym:stub
	// panic("not implemented yet: CheckReadYourWrites: remember each session's latest acknowledged write per key and flag every later read of that key by the same session that returned an older version")
	//dsgym:end
}

package idempotency

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"strings"
)

// KeyHeader is the request header carrying the idempotency key, as in the
// IETF draft "The Idempotency-Key HTTP Header Field" and Stripe's API.
const KeyHeader = "Idempotency-Key"

// ReplayedHeader is set to "true" on a response replayed from the dedupe
// table (Stripe's name for it).
const ReplayedHeader = "Idempotent-Replayed"

// DefaultMaxKeyLen is the longest key accepted by default (Stripe's limit).
const DefaultMaxKeyLen = 255

// DefaultMaxBody is the largest request body accepted by default: 1 MiB.
const DefaultMaxBody = 1 << 20

// ParseKey returns the idempotency key of a request from the values of its
// Idempotency-Key header. Exactly one value is allowed; it is 1 to maxLen
// visible ASCII characters (no spaces or control characters), optionally
// written as a quoted string ("abc", the draft's Structured Field form),
// in which case the quotes are removed. The error says what is wrong, for
// a 400 response.
func ParseKey(values []string, maxLen int) (string, error) {
	if maxLen < 1 {
		return "", fmt.Errorf("maximum key length must be at least 1, got %d", maxLen)
	}
	switch len(values) {
	case 0:
		return "", fmt.Errorf("missing %s header: send a unique key (a UUID) with each logical request, and the same key with its retries", KeyHeader)
	case 1:
	default:
		return "", fmt.Errorf("%d %s headers: send exactly one", len(values), KeyHeader)
	}
	k := strings.TrimSpace(values[0])
	if len(k) >= 2 && k[0] == '"' && k[len(k)-1] == '"' {
		k = k[1 : len(k)-1]
	}
	if k == "" {
		return "", fmt.Errorf("empty %s header", KeyHeader)
	}
	if len(k) > maxLen {
		return "", fmt.Errorf("%s is %d characters long; the limit is %d", KeyHeader, len(k), maxLen)
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return "", fmt.Errorf("%s holds %q at position %d: use visible ASCII characters only (a UUID is ideal)", KeyHeader, rune(c), i+1)
		}
	}
	return k, nil
}

// NewKey returns a random version-4 UUID drawn from rng, the recommended
// form of an idempotency key. Pass a seeded generator for repeatable keys.
func NewKey(rng *rand.Rand) (string, error) {
	if rng == nil {
		return "", errors.New("new key: nil random generator")
	}
	var b [16]byte
	hi, lo := rng.Uint64(), rng.Uint64()
	for i := 0; i < 8; i++ {
		b[i], b[8+i] = byte(hi>>(56-8*i)), byte(lo>>(56-8*i))
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// bodyError is a problem with a request body, with its HTTP status.
type bodyError struct {
	status int
	msg    string
}

func (e *bodyError) Error() string { return e.msg }

// readJSONBody reads a JSON request body of at most max bytes. It answers
// 415 for a body that is not declared as JSON, 413 for one over max.
func readJSONBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" || r.ContentLength != 0 {
		if !isJSON(ct) {
			return nil, &bodyError{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q is not supported: send application/json", ct)}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &bodyError{http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over the limit of %d bytes", max)}
		}
		return nil, &bodyError{http.StatusBadRequest, "could not read the body: " + err.Error()}
	}
	if len(body) > 0 && !json.Valid(body) {
		return nil, &bodyError{http.StatusBadRequest, "the body is not valid JSON"}
	}
	return body, nil
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// writeError writes {"error": msg} with the status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"could not encode the response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

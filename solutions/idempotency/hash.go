package idempotency

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// RequestHash fingerprints a request for the dedupe table: the method, the
// target (path and query) and the JSON body. It returns the hex SHA-256 of
// the three parts, each prefixed by its length so that no two different
// requests run together into the same bytes. The body is canonical JSON:
// key order and white space do not matter, every value does (numbers are
// kept exactly as written, never rounded through float64). An empty body
// is allowed; a body that is not one JSON value is an error, and so are an
// empty method or target.
//
//dsgym:exercise idempotency/requesthash
func RequestHash(method, target string, body []byte) (string, error) {
	//dsgym:solution
	if method == "" || target == "" {
		return "", fmt.Errorf("request hash: method (%q) and target (%q) must not be empty", method, target)
	}
	var canonical []byte
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber() // 12345678901234567890 stays itself, not 1.2345678901234567e19
		var v any
		if err := dec.Decode(&v); err != nil {
			return "", fmt.Errorf("request hash: the body is not JSON: %w", err)
		}
		if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
			return "", errors.New("request hash: the body holds more than one JSON value")
		}
		var err error
		if canonical, err = json.Marshal(v); err != nil { // maps marshal with sorted keys
			return "", fmt.Errorf("request hash: %w", err)
		}
	}
	h := sha256.New()
	var n [8]byte
	for _, part := range [][]byte{[]byte(method), []byte(target), canonical} {
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
	//dsgym:stub
	// panic("not implemented yet: RequestHash: return a fixed-size hash of method, target and the canonical JSON body (sorted keys, exact numbers), with the parts length-prefixed")
	//dsgym:end
}

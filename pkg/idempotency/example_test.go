package idempotency_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/dsgym/dsgym/pkg/idempotency"
)

// A producer's retry (same key, same body) gets the first response back,
// and the event is stored once; the same key with another body is refused.
func Example() {
	ctx := context.Background()
	store, err := idempotency.OpenTemp(ctx, idempotency.SQLite, "") // or PostgreSQL, by URL
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	srv, err := idempotency.Start(idempotency.ServerConfig{Store: store, Idempotency: &idempotency.Options{}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	post := func(key, body string) {
		req, _ := http.NewRequest("POST", srv.URL+"/events", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(idempotency.KeyHeader, key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fmt.Printf("%d replayed=%q %s", resp.StatusCode, resp.Header.Get(idempotency.ReplayedHeader), b)
	}
	reading := `{"id":"reading-42","source":"sensor-7","type":"temperature","data":{"celsius":21.5}}`
	post("8e03978e-40d5-43e8-bc93-6894a57f9324", reading)
	post("8e03978e-40d5-43e8-bc93-6894a57f9324", reading) // the retry
	post("8e03978e-40d5-43e8-bc93-6894a57f9324", strings.Replace(reading, "21.5", "99", 1))
	counts, _ := store.CountEvents(ctx)
	fmt.Println("events stored:", counts.Effects)
	// Output:
	// 201 replayed="" {"seq":1,"id":"reading-42"}
	// 201 replayed="true" {"seq":1,"id":"reading-42"}
	// 422 replayed="" {"error":"Idempotency-Key \"8e03978e-40d5-43e8-bc93-6894a57f9324\" was already used with a different request (method, path or body); use a new key for a new request"}
	// events stored: 1
}

// The client retries with jittered backoff; a fault transport in front of
// it loses the first response after the server stored the event. With the
// same key on every attempt, the retry is answered from the dedupe table.
func ExampleFaults() {
	ctx := context.Background()
	store, _ := idempotency.OpenTemp(ctx, idempotency.SQLite, "")
	defer store.Close()
	srv, _ := idempotency.Start(idempotency.ServerConfig{Store: store, Idempotency: &idempotency.Options{}})
	defer srv.Close()

	faults := &idempotency.Faults{Plan: func(id string, attempt int) (idempotency.Fault, bool) {
		if attempt == 1 {
			return idempotency.LoseResponse, true
		}
		return idempotency.NoFault, true
	}}
	client, _ := idempotency.NewClient(idempotency.ClientConfig{URL: srv.URL + "/events", Transport: faults, Seed: 1})
	res, err := client.PostEvent(ctx, "key-1", idempotency.Event{ID: "reading-1", Source: "sensor-7", Type: "temperature"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range res.Attempts {
		fmt.Printf("attempt %d: status %d, fault %q, replayed %v\n", a.N, a.Status, a.Fault, a.Replayed)
	}
	counts, _ := store.CountEvents(ctx)
	fmt.Println("events stored:", counts.Effects)
	// Output:
	// attempt 1: status 0, fault "response lost (connection reset)", replayed false
	// attempt 2: status 201, fault "none", replayed true
	// events stored: 1
}

// Keys from a seeded generator are repeatable, for tests and experiments.
func ExampleNewKey() {
	key, _ := idempotency.NewKey(newSeeded(7))
	fmt.Println(len(key), key[14:15])
	// Output: 36 4
}

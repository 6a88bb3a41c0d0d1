// Load generator for the TLS handshake benchmark (bench/tls/run.sh): one new
// TLS connection per request, never resumed. Built by run.sh with the Go
// standard library only (`go build`, no modules, no network).
//
//	handshake-load -connect 127.0.0.1:PORT -servername ecdsa.bench.local \
//	  [-conns 50] [-duration 10s] [-timeout 5s]
//
// Each of -conns loops opens a TCP connection to -connect, runs a TLS
// handshake with SNI -servername and ALPN http/1.1, sends `GET /` with
// `Host: <servername>` and `Connection: close`, reads the response until the
// server closes, checks for status 200, and starts over. The client has no
// session cache, so it never offers a session: every request is one full
// handshake. Servers' NewSessionTicket messages are read and dropped.
//
// Why Go and not wrk or h2load: a TLS client does at least as much work per
// handshake as the server (verifying the server's signature costs more than
// making it), and wrk and h2load link Debian's OpenSSL 3.0, whose per-handshake
// overhead made wrk plus the backend use more of their core than nginx used of
// its own, so the proxy was never saturated. Go's TLS stack costs the client
// about a third less per handshake (measured in docs/benchmarks.md), enough
// to keep one nginx core nearly busy on a quiet machine. wrk also resumes
// sessions after a reconnect, which would measure resumption instead.
//
// Prints one JSON object: requests, duration_s, rps, errors {connect, read,
// write, timeout}, non2xx, resumed, negotiated {protocol, cipher, alpn} of
// the first connection, latency_ms {avg, p50, p75, p90, p99, max}, and
// completed: requests plus those that finished after the measured time (in
// flight when it ran out), for the server's CPU time per request.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

type errorCounts struct {
	Connect int64 `json:"connect"`
	Read    int64 `json:"read"`
	Write   int64 `json:"write"`
	Timeout int64 `json:"timeout"`
}

type negotiated struct {
	Protocol string `json:"protocol"`
	Cipher   string `json:"cipher"`
	ALPN     string `json:"alpn"`
}

type latency struct {
	Avg float64 `json:"avg"`
	P50 float64 `json:"p50"`
	P75 float64 `json:"p75"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

type result struct {
	Requests   int64       `json:"requests"`
	Completed  int64       `json:"completed"`
	DurationS  float64     `json:"duration_s"`
	RPS        float64     `json:"rps"`
	Errors     errorCounts `json:"errors"`
	Non2xx     int64       `json:"non2xx"`
	Resumed    int64       `json:"resumed"`
	Negotiated *negotiated `json:"negotiated"`
	LatencyMs  latency     `json:"latency_ms"`
}

// worker state, merged at the end (no locks on the hot path)
type worker struct {
	requests int64
	late     int64
	non2xx   int64
	resumed  int64
	errs     errorCounts
	lat      []float64
}

var okStatus = []byte("HTTP/1.1 200 ")

func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	}
	return fmt.Sprintf("0x%04x", v)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func main() {
	target := flag.String("connect", "", "HOST:PORT to connect to (required)")
	servername := flag.String("servername", "", "SNI and Host header (required)")
	conns := flag.Int("conns", 50, "concurrent connection loops")
	duration := flag.Duration("duration", 10*time.Second, "measured time")
	timeout := flag.Duration("timeout", 5*time.Second, "deadline per request (connect, handshake, response)")
	flag.Parse()
	if *target == "" || *servername == "" || *conns < 1 || *duration <= 0 || *timeout <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	// One core is what run.sh gives the load side (taskset); more Ps would only contend.
	runtime.GOMAXPROCS(1)

	cfg := &tls.Config{
		ServerName: *servername,
		// The benchmark certificate is self-signed and made at bench time.
		// Chain verification is skipped; the server's handshake signature is
		// still checked, as TLS requires.
		InsecureSkipVerify: true,
		NextProtos:         []string{"http/1.1"},
		MinVersion:         tls.VersionTLS12,
		// No ClientSessionCache: a session is never offered, never resumed.
	}
	request := []byte("GET / HTTP/1.1\r\nHost: " + *servername + "\r\nUser-Agent: martello-bench-tls\r\nAccept: */*\r\nConnection: close\r\n\r\n")

	var stop atomic.Bool
	var first sync.Once
	var neg *negotiated
	workers := make([]*worker, *conns)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(*duration)
	dialer := &net.Dialer{}
	for i := range workers {
		w := &worker{lat: make([]float64, 0, 4096)}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 16<<10)
			for !stop.Load() {
				t0 := time.Now()
				ctx, cancel := context.WithDeadline(context.Background(), t0.Add(*timeout))
				raw, err := dialer.DialContext(ctx, "tcp", *target)
				cancel()
				if err != nil {
					if !stop.Load() {
						if isTimeout(err) {
							w.errs.Timeout++
						} else {
							w.errs.Connect++
						}
					}
					// A refused connection must not spin the core.
					time.Sleep(10 * time.Millisecond)
					continue
				}
				_ = raw.SetDeadline(t0.Add(*timeout))
				c := tls.Client(raw, cfg)
				if err := c.Handshake(); err != nil {
					_ = c.Close()
					if !stop.Load() {
						if isTimeout(err) {
							w.errs.Timeout++
						} else {
							w.errs.Connect++
						}
					}
					continue
				}
				st := c.ConnectionState()
				if st.DidResume {
					w.resumed++
				}
				first.Do(func() {
					neg = &negotiated{Protocol: tlsVersionName(st.Version), Cipher: tls.CipherSuiteName(st.CipherSuite), ALPN: st.NegotiatedProtocol}
				})
				if _, err := c.Write(request); err != nil {
					_ = c.Close()
					if !stop.Load() {
						if isTimeout(err) {
							w.errs.Timeout++
						} else {
							w.errs.Write++
						}
					}
					continue
				}
				// Read until the server closes; keep the first bytes for the status.
				r := bufio.NewReader(c)
				n, err := io.ReadAtLeast(r, buf, len(okStatus))
				head := buf[:n]
				if err == nil {
					_, err = io.Copy(io.Discard, r)
				}
				_ = c.Close()
				end := time.Now()
				if stop.Load() || end.After(deadline) {
					// completed after the measured time: not in rps, but the
					// server did the work
					if err == nil || n >= len(okStatus) && !isTimeout(err) {
						w.late++
					}
					continue
				}
				if err != nil && n < len(okStatus) {
					if isTimeout(err) {
						w.errs.Timeout++
					} else {
						w.errs.Read++
					}
					continue
				}
				if err != nil && isTimeout(err) {
					w.errs.Timeout++
					continue
				}
				w.requests++
				if !bytes.HasPrefix(head, okStatus) {
					w.non2xx++
				}
				w.lat = append(w.lat, float64(end.Sub(t0).Nanoseconds())/1e6)
			}
		}()
	}
	time.Sleep(time.Until(deadline))
	stop.Store(true)
	elapsed := time.Since(start).Seconds()
	wg.Wait()

	res := result{DurationS: elapsed, Negotiated: neg}
	var all []float64
	for _, w := range workers {
		res.Requests += w.requests
		res.Completed += w.requests + w.late
		res.Non2xx += w.non2xx
		res.Resumed += w.resumed
		res.Errors.Connect += w.errs.Connect
		res.Errors.Read += w.errs.Read
		res.Errors.Write += w.errs.Write
		res.Errors.Timeout += w.errs.Timeout
		all = append(all, w.lat...)
	}
	res.RPS = float64(res.Requests) / elapsed
	sort.Float64s(all)
	if len(all) > 0 {
		sum := 0.0
		for _, v := range all {
			sum += v
		}
		pct := func(p float64) float64 {
			i := int(p/100*float64(len(all))+0.999999) - 1
			if i < 0 {
				i = 0
			}
			if i >= len(all) {
				i = len(all) - 1
			}
			return all[i]
		}
		res.LatencyMs = latency{Avg: sum / float64(len(all)), P50: pct(50), P75: pct(75), P90: pct(90), P99: pct(99), Max: all[len(all)-1]}
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
}

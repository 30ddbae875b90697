// nats_client: the stock NATS clients of the protocol=nats end-to-end tests
// and of bench/nats.sh. Built offline from Debian's packages
// (golang-github-nats-io-go-nats-dev, golang-go) with GO111MODULE=off.
//
// Modes (first argument):
//
//	pubsub   nats.go (1.22, INFO upgrade): publish/subscribe and
//	         request/reply, every message checked; payloads hold "INFO {".
//	tlsfirst crypto/tls from the first byte (nats.go 1.22 has no
//	         TLSHandshakeFirst), speaking the NATS text protocol itself:
//	         the same checks as pubsub.
//	plain    plaintext TCP: prints the INFO line, sends CONNECT and PING,
//	         prints what comes back.
//	raw      TLS first: sends each -send (\r and \n for CR and LF; no
//	         CONNECT of its own), after each one with a PING the lines up to PONG,
//	         then prints what comes back until the gate closes.
//	watch    TLS first: prints every INFO line ("INFO-LINE ...") until
//	         -infos lines came or -timeout passed; then nats.go's view of
//	         the servers ("SERVERS ...") from a second connection.
//	steady   nats.go: publishes -rate messages a second until -stop FILE
//	         exists; counts what its subscriber got, and reconnects.
//	load     nats.go: -n messages of -size bytes published, all received by
//	         a subscriber on another connection; prints msgs/s.
//
// Success prints a line starting with "OK" and exits 0; failure prints
// "FAIL ..." and exits 1.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

var (
	addr    = flag.String("addr", "127.0.0.1:4222", "host:port of the gate or server")
	caFile  = flag.String("ca", "", "CA file that verifies the server (empty: no TLS)")
	cert    = flag.String("cert", "", "client certificate")
	key     = flag.String("key", "", "client key")
	user    = flag.String("user", "", "user for CONNECT")
	pass    = flag.String("pass", "", "password for CONNECT")
	count   = flag.Int("n", 100, "messages")
	size    = flag.Int("size", 128, "payload bytes (load)")
	infos   = flag.Int("infos", 2, "INFO lines to wait for (watch)")
	timeout = flag.Duration("timeout", 20*time.Second, "overall deadline")
	rate    = flag.Int("rate", 200, "messages a second (steady)")
	stop    = flag.String("stop", "", "steady stops once this file exists")
	subject = flag.String("subject", "tlsgate.test", "subject")
	sends   sendList
)

// -send, given once per write (raw).
type sendList []string

func (s *sendList) String() string { return strings.Join(*s, " ") }
func (s *sendList) Set(v string) error {
	*s = append(*s, strings.NewReplacer(`\r`, "\r", `\n`, "\n").Replace(v))
	return nil
}

func init() { flag.Var(&sends, "send", `bytes to write, \r and \n for CR and LF (raw; repeatable)`) }

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(1)
}

func tlsConfig() *tls.Config {
	pem, err := os.ReadFile(*caFile)
	if err != nil {
		fail("read CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fail("no certificate in %s", *caFile)
	}
	host, _, _ := net.SplitHostPort(*addr)
	c := &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12}
	if *cert != "" {
		pair, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			fail("load client certificate: %v", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c
}

func payload(i int) []byte {
	// A payload a careless proxy would take for a server INFO line.
	return []byte(fmt.Sprintf("INFO {\"connect_urls\":[\"10.9.9.9:4222\"]}\r\nMSG x 1 3\r\n#%d", i))
}

func connect() *nats.Conn {
	opts := []nats.Option{nats.Timeout(10 * time.Second), nats.NoReconnect(),
		nats.DontRandomize(), nats.Name("tlsgate-e2e")}
	if *caFile != "" {
		opts = append(opts, nats.Secure(tlsConfig()))
	}
	if *user != "" {
		opts = append(opts, nats.UserInfo(*user, *pass))
	}
	nc, err := nats.Connect("nats://"+*addr, opts...)
	if err != nil {
		fail("connect: %v", err)
	}
	return nc
}

func pubsub() {
	nc := connect()
	defer nc.Close()
	responder := connect()
	defer responder.Close()
	if _, err := nc.TLSConnectionState(); *caFile != "" && err != nil {
		fail("not on TLS: %v", err)
	}
	sub, err := nc.SubscribeSync(*subject)
	if err != nil {
		fail("subscribe: %v", err)
	}
	if _, err := responder.Subscribe("tlsgate.svc", func(m *nats.Msg) {
		m.Respond(append([]byte("re:"), m.Data...))
	}); err != nil {
		fail("responder: %v", err)
	}
	responder.Flush()
	nc.Flush()
	for i := 0; i < *count; i++ {
		if err := nc.Publish(*subject, payload(i)); err != nil {
			fail("publish %d: %v", i, err)
		}
	}
	for i := 0; i < *count; i++ {
		m, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			fail("message %d: %v", i, err)
		}
		if string(m.Data) != string(payload(i)) {
			fail("message %d: got %q", i, m.Data)
		}
	}
	for i := 0; i < 20; i++ {
		r, err := nc.Request("tlsgate.svc", payload(i), 10*time.Second)
		if err != nil {
			fail("request %d: %v", i, err)
		}
		if string(r.Data) != "re:"+string(payload(i)) {
			fail("reply %d: got %q", i, r.Data)
		}
	}
	fmt.Printf("OK pubsub %d messages, 20 requests, servers %v\n", *count, nc.Servers())
}

// A raw NATS connection: TLS from the first byte.
type raw struct {
	conn net.Conn
	r    *bufio.Reader
	info []string
}

// A TLS-first connection that has read its INFO, before CONNECT.
func tlsFirstInfo() *raw {
	d := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", *addr, tlsConfig())
	if err != nil {
		fail("TLS first: %v", err)
	}
	c.SetDeadline(time.Now().Add(*timeout))
	rc := &raw{conn: c, r: bufio.NewReader(c)}
	line := rc.line()
	if !strings.HasPrefix(line, "INFO {") {
		fail("first line inside TLS is not INFO: %q", line)
	}
	rc.info = append(rc.info, line)
	return rc
}

func dialTLSFirst() *raw {
	rc := tlsFirstInfo()
	connect := map[string]string{"verbose": "false", "pedantic": "false", "tls_required": "true",
		"protocol": "1", "headers": "true", "no_responders": "true"}
	var b strings.Builder
	b.WriteString("CONNECT {")
	for k, v := range connect {
		fmt.Fprintf(&b, "%q:%s,", k, v)
	}
	if *user != "" {
		fmt.Fprintf(&b, "\"user\":%q,\"pass\":%q,", *user, *pass)
	}
	b.WriteString("\"lang\":\"tlsgate-e2e\"}\r\nPING\r\n")
	rc.send(b.String())
	rc.expect("PONG")
	return rc
}

func (rc *raw) send(s string) {
	if _, err := io.WriteString(rc.conn, s); err != nil {
		fail("write: %v", err)
	}
}

func (rc *raw) line() string {
	l, err := rc.r.ReadString('\n')
	if err != nil {
		fail("read: %v (after %q)", err, l)
	}
	if !strings.HasSuffix(l, "\r\n") {
		fail("line without CRLF: %q", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// The next line that is not INFO (kept) or PING (answered).
func (rc *raw) op() string {
	for {
		l := rc.line()
		switch {
		case strings.HasPrefix(l, "INFO "):
			rc.info = append(rc.info, l)
		case l == "PING":
			rc.send("PONG\r\n")
		case strings.HasPrefix(l, "-ERR"):
			fail("server: %s", l)
		default:
			return l
		}
	}
}

func (rc *raw) expect(want string) {
	if l := rc.op(); l != want {
		fail("want %q, got %q", want, l)
	}
}

// MSG subject sid [reply] size: the fields and the payload.
func (rc *raw) msg() (fields []string, data []byte) {
	l := rc.op()
	fields = strings.Fields(l)
	if len(fields) < 4 || fields[0] != "MSG" {
		fail("want MSG, got %q", l)
	}
	n, err := strconv.Atoi(fields[len(fields)-1])
	if err != nil {
		fail("bad size in %q", l)
	}
	data = make([]byte, n+2)
	if _, err := io.ReadFull(rc.r, data); err != nil {
		fail("payload: %v", err)
	}
	if string(data[n:]) != "\r\n" {
		fail("payload not followed by CRLF")
	}
	return fields, data[:n]
}

func pub(subject, reply string, data []byte) string {
	if reply != "" {
		return fmt.Sprintf("PUB %s %s %d\r\n%s\r\n", subject, reply, len(data), data)
	}
	return fmt.Sprintf("PUB %s %d\r\n%s\r\n", subject, len(data), data)
}

func tlsfirst() {
	a := dialTLSFirst()
	b := dialTLSFirst()
	a.send("SUB " + *subject + " 1\r\nSUB _INBOX.tlsfirst 2\r\nPING\r\n")
	a.expect("PONG")
	b.send("SUB tlsgate.svc 7\r\nPING\r\n")
	b.expect("PONG")
	var out strings.Builder
	for i := 0; i < *count; i++ {
		out.WriteString(pub(*subject, "", payload(i)))
	}
	a.send(out.String())
	for i := 0; i < *count; i++ {
		f, d := a.msg()
		if f[1] != *subject || string(d) != string(payload(i)) {
			fail("message %d: %v %q", i, f, d)
		}
	}
	for i := 0; i < 20; i++ {
		a.send(pub("tlsgate.svc", "_INBOX.tlsfirst", payload(i)))
		f, d := b.msg()
		if len(f) != 5 || f[3] != "_INBOX.tlsfirst" || string(d) != string(payload(i)) {
			fail("request %d at the responder: %v %q", i, f, d)
		}
		b.send(pub(f[3], "", append([]byte("re:"), d...)))
		f, d = a.msg()
		if f[1] != "_INBOX.tlsfirst" || string(d) != "re:"+string(payload(i)) {
			fail("reply %d: %v %q", i, f, d)
		}
	}
	state := a.conn.(*tls.Conn).ConnectionState()
	fmt.Printf("OK tlsfirst %d messages, 20 requests, TLS 0x%x, serial %s, first INFO %s\n",
		*count, state.Version, state.PeerCertificates[0].SerialNumber.Text(16), a.info[0])
}

func plain() {
	c, err := net.DialTimeout("tcp", *addr, 10*time.Second)
	if err != nil {
		fail("dial: %v", err)
	}
	c.SetDeadline(time.Now().Add(*timeout))
	r := bufio.NewReader(c)
	info, err := r.ReadString('\n')
	if err != nil {
		fail("INFO: %v", err)
	}
	fmt.Printf("LINE %s", info)
	io.WriteString(c, "CONNECT {\"verbose\":false}\r\nPING\r\n")
	for {
		l, err := r.ReadString('\n')
		if l != "" {
			fmt.Printf("LINE %s", l)
		}
		if err != nil {
			fmt.Printf("OK closed: %v\n", err)
			return
		}
	}
}

func rawMode() {
	rc := tlsFirstInfo()
	for _, s := range sends {
		rc.send(s)
		for strings.Contains(s, "PING") {
			l, err := rc.r.ReadString('\n')
			if l != "" {
				fmt.Printf("LINE %s", l)
			}
			if err != nil || l == "PONG\r\n" {
				break
			}
		}
	}
	for {
		l, err := rc.r.ReadString('\n')
		if l != "" {
			fmt.Printf("LINE %s", l)
		}
		if err != nil {
			fmt.Printf("OK closed: %v\n", err)
			return
		}
	}
}

func watch() {
	rc := dialTLSFirst()
	for len(rc.info) < *infos {
		rc.send("PING\r\n")
		rc.expect("PONG")
	}
	for _, l := range rc.info {
		fmt.Printf("INFO-LINE %s\n", l)
	}
	nc := connect()
	fmt.Printf("SERVERS %s\n", strings.Join(nc.Servers(), " "))
	nc.Close()
	fmt.Printf("OK watch %d INFO lines\n", len(rc.info))
}

func steady() {
	var disconnects int32
	opts := []nats.Option{nats.Timeout(10 * time.Second), nats.Secure(tlsConfig()), nats.NoReconnect(),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { atomic.AddInt32(&disconnects, 1) })}
	pubc, err := nats.Connect("nats://"+*addr, opts...)
	if err != nil {
		fail("connect: %v", err)
	}
	subc, err := nats.Connect("nats://"+*addr, opts...)
	if err != nil {
		fail("connect: %v", err)
	}
	var got int64
	var bad int64
	var next int64
	if _, err := subc.Subscribe(*subject, func(m *nats.Msg) {
		want := atomic.LoadInt64(&next)
		if string(m.Data) != strconv.FormatInt(want, 10) {
			atomic.AddInt64(&bad, 1)
		}
		atomic.AddInt64(&next, 1)
		atomic.AddInt64(&got, 1)
	}); err != nil {
		fail("subscribe: %v", err)
	}
	subc.Flush()
	fmt.Println("READY")
	tick := time.NewTicker(time.Second / time.Duration(*rate))
	deadline := time.Now().Add(*timeout)
	sent := int64(0)
	for time.Now().Before(deadline) {
		<-tick.C
		if err := pubc.Publish(*subject, []byte(strconv.FormatInt(sent, 10))); err != nil {
			fail("publish %d: %v", sent, err)
		}
		sent++
		if sent%int64(*rate) == 0 {
			fmt.Printf("SENT %d\n", sent)
			if _, err := os.Stat(*stop); err == nil {
				break
			}
		}
	}
	if err := pubc.Flush(); err != nil {
		fail("flush: %v", err)
	}
	for i := 0; i < 100 && atomic.LoadInt64(&got) < sent; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if !pubc.IsConnected() || !subc.IsConnected() || atomic.LoadInt32(&disconnects) != 0 {
		fail("a connection was lost (disconnects %d)", disconnects)
	}
	if got != sent || bad != 0 {
		fail("sent %d, received %d, %d out of order", sent, got, bad)
	}
	fmt.Printf("OK steady sent %d received %d reconnects %d\n", sent, got, pubc.Reconnects+subc.Reconnects)
}

func load() {
	pubc := connect()
	subc := connect()
	data := make([]byte, *size)
	done := make(chan struct{})
	var got int64
	sub, err := subc.Subscribe(*subject, func(m *nats.Msg) {
		if atomic.AddInt64(&got, 1) == int64(*count) {
			close(done)
		}
	})
	if err != nil {
		fail("subscribe: %v", err)
	}
	sub.SetPendingLimits(-1, -1)
	subc.Flush()
	start := time.Now()
	for i := 0; i < *count; i++ {
		if err := pubc.Publish(*subject, data); err != nil {
			fail("publish: %v", err)
		}
	}
	pubc.Flush()
	select {
	case <-done:
	case <-time.After(*timeout):
		fail("received %d of %d", atomic.LoadInt64(&got), *count)
	}
	el := time.Since(start)
	fmt.Printf("OK load %d msgs %d bytes %.3f s %.0f msgs/s\n", *count, *size, el.Seconds(),
		float64(*count)/el.Seconds())
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: nats_client pubsub|tlsfirst|plain|raw|watch|steady|load [flags]")
	}
	mode := os.Args[1]
	flag.CommandLine.Parse(os.Args[2:])
	switch mode {
	case "pubsub":
		pubsub()
	case "tlsfirst":
		tlsfirst()
	case "plain":
		plain()
	case "raw":
		rawMode()
	case "watch":
		watch()
	case "steady":
		steady()
	case "load":
		load()
	default:
		fail("unknown mode %s", mode)
	}
}

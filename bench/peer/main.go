// Command bonneville-peer is the benchmark's govmomi peer: it forks N instant
// clones of running parent VMs concurrently, the way a typical govmomi program
// does (one InstantClone_Task call per clone, then govmomi's own per-task wait,
// which makes a property collector for every wait), and prints one JSON line
// with the timings and the SOAP calls it made, by method.
//
//	bonneville-peer -url https://127.0.0.1:8989/sdk -user U -password P \
//	    -thumbprint AA:BB:... -parents vm-42,vm-43 -n 500 [-destroy]
//
// Each clone's spec has the shape Bonneville's ContainerVM sends: the name,
// location.folder and location.pool (-folder, -pool), an edit of NIC 0 onto
// the -network port group, and the same 17 option values (the guestinfo
// contract from -image, -command, -env, -labels, and the bonneville.* keys).
//
// With -make-parents K it first clones the template bonneville-source into K
// powered-on parents (one per host, round-robin), waits until each signals
// guestinfo.bonneville.ready=true, and prints {"parents":[...],"wallMs":...};
// with -n as well it then benchmarks on them.
//
// The result line: {"n","concurrency","parents","wallMs","createMs" (per
// clone, in index order; -1 for a clone that failed),"createStats","soapCalls"
// and "soapCallsTotal" (the create phase only),"createCpuMs" (this
// process's CPU time over the create phase),"setupSoapCalls" (login and
// look-ups),"destroyWallMs" (null without -destroy),"destroyMs",
// "destroySoapCalls","destroySoapCallsTotal","destroyCpuMs","errors"}. The exit status is 1
// when any clone or destroy failed.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const templateName = "bonneville-source"

type options struct {
	url, user, password string
	insecure            bool
	thumbprint          string
	parents             string
	n                   int
	prefix              string
	folder, pool        string
	network             string
	image               string
	command, env        string
	labels              string
	urnPrefix           string
	concurrency         int
	destroy             bool
	makeParents         int
	timeout             time.Duration
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.url, "url", "", "vSphere SDK URL, e.g. https://127.0.0.1:8989/sdk")
	flag.StringVar(&o.user, "user", "", "user name (default: from -url)")
	flag.StringVar(&o.password, "password", "", "password (default: from -url)")
	flag.BoolVar(&o.insecure, "insecure", false, "skip TLS certificate verification")
	flag.StringVar(&o.thumbprint, "thumbprint", "", "accept the server certificate with this SHA-256 (or SHA-1) thumbprint, AA:BB:...")
	flag.StringVar(&o.parents, "parents", "", "comma-separated parent VM morefs (vm-42,vm-43); clones are spread round-robin")
	flag.IntVar(&o.n, "n", 0, "number of instant clones")
	flag.StringVar(&o.prefix, "prefix", "", "clone name prefix (default peer-<time>)")
	flag.StringVar(&o.folder, "folder", "", "destination folder moref (default: the parent's folder)")
	flag.StringVar(&o.pool, "pool", "", "destination resource pool moref (default: the parent's pool)")
	flag.StringVar(&o.network, "network", "", "port group moref to put NIC 0 on (location.deviceChange edit)")
	flag.StringVar(&o.image, "image", "bench:latest", "guestinfo.bonneville.image for each clone")
	flag.StringVar(&o.command, "command", "", "the container command as a JSON array (guestinfo.bonneville.command)")
	flag.StringVar(&o.env, "env", "", "the container environment as a JSON object (guestinfo.bonneville.env)")
	flag.StringVar(&o.labels, "labels", "", "labels as a JSON object; each clone's also gets \"index\" (guestinfo.bonneville.labels)")
	flag.StringVar(&o.urnPrefix, "urn-prefix", "urn:pulumi:bench::peer::bonneville:index:ContainerVM::", "bonneville.urn of each clone: this prefix and the clone's name")
	flag.IntVar(&o.concurrency, "concurrency", 0, "clones in flight at once (default n)")
	flag.BoolVar(&o.destroy, "destroy", false, "after creating, power off and destroy every clone concurrently (timed separately)")
	flag.IntVar(&o.makeParents, "make-parents", 0, "first clone "+templateName+" into K powered-on, ready parents, one per host")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up after this long")
	flag.Parse()
	if o.url == "" {
		fail("-url is required")
	}
	if o.n < 0 || o.makeParents < 0 || o.concurrency < 0 {
		fail("-n, -make-parents and -concurrency must not be negative")
	}
	if o.n == 0 && o.makeParents == 0 {
		fail("nothing to do: give -n (with -parents or -make-parents) or -make-parents")
	}
	if o.n > 0 && o.parents == "" && o.makeParents == 0 {
		fail("-n needs -parents or -make-parents")
	}
	for _, f := range []struct{ name, value, kind string }{
		{"-command", o.command, "array"}, {"-env", o.env, "object"}, {"-labels", o.labels, "object"},
	} {
		if f.value == "" {
			continue
		}
		var v interface{}
		if err := json.Unmarshal([]byte(f.value), &v); err != nil {
			fail("%s %q is not JSON: %v", f.name, f.value, err)
		}
		_, isArray := v.([]interface{})
		_, isObject := v.(map[string]interface{})
		if (f.kind == "array" && !isArray) || (f.kind == "object" && !isObject) {
			fail("%s %q must be a JSON %s", f.name, f.value, f.kind)
		}
	}
	if o.prefix == "" {
		o.prefix = "peer-" + strconv.FormatInt(time.Now().UnixNano()/int64(time.Millisecond), 36)
	}
	if o.concurrency == 0 || o.concurrency > o.n {
		o.concurrency = o.n
	}
	return o
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "bonneville-peer: "+format+"\n", args...)
	os.Exit(2)
}

// ---------------------------------------------------------------------------
// SOAP call counting.

// countingRoundTripper counts the SOAP calls that pass through it by method.
type countingRoundTripper struct {
	next   soap.RoundTripper
	mu     sync.Mutex
	counts map[string]int
}

func (c *countingRoundTripper) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	name := soapMethod(req)
	c.mu.Lock()
	c.counts[name]++
	c.mu.Unlock()
	return c.next.RoundTrip(ctx, req, res)
}

// take returns the counts so far and starts counting afresh.
func (c *countingRoundTripper) take() (map[string]int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out, total := c.counts, 0
	for _, v := range out {
		total += v
	}
	c.counts = map[string]int{}
	return out, total
}

// soapMethod names the method of a request body: methods.XBody carries the
// request as its Req field, of type types.X.
func soapMethod(body soap.HasFault) string {
	v := reflect.Indirect(reflect.ValueOf(body))
	if v.Kind() == reflect.Struct {
		if f := v.FieldByName("Req"); f.IsValid() {
			t := f.Type()
			if t.Kind() == reflect.Ptr {
				t = t.Elem()
			}
			return t.Name()
		}
	}
	return strings.TrimSuffix(v.Type().Name(), "Body")
}

// ---------------------------------------------------------------------------
// Connecting.

func thumbprintOf(der []byte, hexLen int) string {
	var sum []byte
	if hexLen == sha1.Size {
		s := sha1.Sum(der)
		sum = s[:]
	} else {
		s := sha256.Sum256(der)
		sum = s[:]
	}
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// connect logs in with one session shared by every goroutine, and counts the
// calls it makes from login on.
func connect(ctx context.Context, o options) (*vim25.Client, *session.Manager, *countingRoundTripper, error) {
	u, err := url.Parse(o.url)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("-url: %w", err)
	}
	user := u.User
	if o.user != "" || o.password != "" {
		name, pw := o.user, o.password
		if user != nil {
			if name == "" {
				name = user.Username()
			}
			if p, ok := user.Password(); ok && pw == "" {
				pw = p
			}
		}
		user = url.UserPassword(name, pw)
	}
	u.User = nil

	pin := strings.ToUpper(strings.TrimSpace(o.thumbprint))
	sc := soap.NewClient(u, o.insecure || pin != "")
	if pin != "" {
		// Debian's govmomi pins SHA-1 thumbprints only; vCenter and the
		// simulator announce SHA-256 ones, so pin here, accepting either.
		raw, err := hex.DecodeString(strings.ReplaceAll(pin, ":", ""))
		if err != nil || (len(raw) != sha1.Size && len(raw) != sha256.Size) {
			return nil, nil, nil, fmt.Errorf("-thumbprint %q is not a SHA-256 or SHA-1 thumbprint", o.thumbprint)
		}
		sc.DefaultTransport().TLSClientConfig = &tls.Config{
			InsecureSkipVerify: true,
			VerifyPeerCertificate: func(certs [][]byte, _ [][]*x509.Certificate) error {
				if len(certs) == 0 || thumbprintOf(certs[0], len(raw)) != pin {
					return fmt.Errorf("server certificate does not match thumbprint %s", pin)
				}
				return nil
			},
		}
	}
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, nil, nil, err
	}
	counter := &countingRoundTripper{next: vc.RoundTripper, counts: map[string]int{}}
	vc.RoundTripper = counter
	sm := session.NewManager(vc)
	if user == nil {
		return nil, nil, nil, errors.New("no credentials: give -user and -password")
	}
	if err := sm.Login(ctx, user); err != nil {
		return nil, nil, nil, fmt.Errorf("login: %w", err)
	}
	return vc, sm, counter, nil
}

func ref(kind, value string) *types.ManagedObjectReference {
	if value == "" {
		return nil
	}
	return &types.ManagedObjectReference{Type: kind, Value: value}
}

// ---------------------------------------------------------------------------
// Parents.

// makeParents clones the source template into k powered-on parents, one per
// host, and waits until each one's guest agent says it is ready.
func makeParents(ctx context.Context, c *vim25.Client, o options, k int) ([]types.ManagedObjectReference, error) {
	m := view.NewManager(c)
	v, err := m.CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine", "ClusterComputeResource"}, true)
	if err != nil {
		return nil, err
	}
	defer func() { _ = v.Destroy(context.Background()) }()

	var vms []mo.VirtualMachine
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, []string{"name", "parent"}, &vms); err != nil {
		return nil, err
	}
	var template *mo.VirtualMachine
	for i := range vms {
		if vms[i].Name == templateName {
			template = &vms[i]
		}
	}
	if template == nil {
		return nil, fmt.Errorf("no VM named %s", templateName)
	}
	var clusters []mo.ClusterComputeResource
	if err := v.Retrieve(ctx, []string{"ClusterComputeResource"}, []string{"name", "host", "resourcePool"}, &clusters); err != nil {
		return nil, err
	}
	if len(clusters) == 0 || len(clusters[0].Host) == 0 {
		return nil, errors.New("no cluster with hosts")
	}
	hosts := clusters[0].Host
	pool := clusters[0].ResourcePool
	if o.pool != "" {
		pool = ref("ResourcePool", o.pool)
	}
	folder := *template.Parent
	if o.folder != "" {
		folder = *ref("Folder", o.folder)
	}

	parents := make([]types.ManagedObjectReference, k)
	errs := make([]error, k)
	var wg sync.WaitGroup
	for i := 0; i < k; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			host := hosts[i%len(hosts)]
			res, err := methods.CloneVM_Task(ctx, c, &types.CloneVM_Task{
				This:   template.Self,
				Folder: folder,
				Name:   fmt.Sprintf("%sparent-%d", o.prefix, i),
				Spec: types.VirtualMachineCloneSpec{
					Location: types.VirtualMachineRelocateSpec{Pool: pool, Host: &host},
					PowerOn:  true,
				},
			})
			if err != nil {
				errs[i] = err
				return
			}
			info, err := object.NewTask(c, res.Returnval).WaitForResult(ctx, nil)
			if err != nil {
				errs[i] = err
				return
			}
			vm := info.Result.(types.ManagedObjectReference)
			parents[i] = vm
			errs[i] = waitReady(ctx, c, vm)
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("parent %d: %w", i, err)
		}
	}
	return parents, nil
}

// waitReady waits for guestinfo.bonneville.ready=true in a VM's extra config.
func waitReady(ctx context.Context, c *vim25.Client, vm types.ManagedObjectReference) error {
	pc := property.DefaultCollector(c)
	return property.Wait(ctx, pc, vm, []string{"config.extraConfig"}, func(changes []types.PropertyChange) bool {
		for _, ch := range changes {
			var opts []types.BaseOptionValue
			switch val := ch.Val.(type) {
			case types.ArrayOfOptionValue:
				opts = val.OptionValue
			case []types.BaseOptionValue:
				opts = val
			}
			for _, o := range opts {
				ov := o.GetOptionValue()
				if ov.Key == "guestinfo.bonneville.ready" && fmt.Sprint(ov.Value) == "true" {
					return true
				}
			}
		}
		return false
	})
}

// nicEdit is the location.deviceChange that moves a parent's first NIC to a
// port group, or nil without -network.
func nicEdit(ctx context.Context, c *vim25.Client, parent types.ManagedObjectReference, network string) ([]types.BaseVirtualDeviceConfigSpec, error) {
	if network == "" {
		return nil, nil
	}
	pc := property.DefaultCollector(c)
	var vm mo.VirtualMachine
	if err := pc.RetrieveOne(ctx, parent, []string{"config.hardware.device"}, &vm); err != nil {
		return nil, err
	}
	cards := object.VirtualDeviceList(vm.Config.Hardware.Device).SelectByType((*types.VirtualEthernetCard)(nil))
	if len(cards) == 0 {
		return nil, fmt.Errorf("%s has no NIC", parent.Value)
	}
	var pg mo.DistributedVirtualPortgroup
	if err := pc.RetrieveOne(ctx, *ref("DistributedVirtualPortgroup", network), []string{"key", "config.distributedVirtualSwitch"}, &pg); err != nil {
		return nil, fmt.Errorf("-network %s: %w", network, err)
	}
	if pg.Config.DistributedVirtualSwitch == nil {
		return nil, fmt.Errorf("-network %s is on no distributed switch", network)
	}
	var dvs mo.DistributedVirtualSwitch
	if err := pc.RetrieveOne(ctx, *pg.Config.DistributedVirtualSwitch, []string{"uuid"}, &dvs); err != nil {
		return nil, err
	}
	// Send the card as the parent has it, with only the backing changed.
	v := reflect.ValueOf(cards[0]).Elem()
	dup := reflect.New(v.Type())
	dup.Elem().Set(v)
	card := dup.Interface().(types.BaseVirtualDevice)
	card.GetVirtualDevice().Backing = &types.VirtualEthernetCardDistributedVirtualPortBackingInfo{
		Port: types.DistributedVirtualSwitchPortConnection{SwitchUuid: dvs.Uuid, PortgroupKey: pg.Key},
	}
	return []types.BaseVirtualDeviceConfigSpec{&types.VirtualDeviceConfigSpec{
		Operation: types.VirtualDeviceConfigSpecOperationEdit,
		Device:    card,
	}}, nil
}

func newGeneration() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// describe says what went wrong, naming the vim fault when there is one.
func describe(err error) string {
	var fault interface{}
	var te task.Error
	switch {
	case errors.As(err, &te):
		fault = te.Fault()
	case soap.IsSoapFault(err):
		fault = soap.ToSoapFault(err).VimFault()
	case soap.IsVimFault(err):
		fault = soap.ToVimFault(err)
	}
	if fault == nil {
		return err.Error()
	}
	name := reflect.Indirect(reflect.ValueOf(fault)).Type().Name()
	switch msg := err.Error(); {
	case msg == "" || msg == "*types."+name:
		return name
	case strings.Contains(msg, name):
		return msg
	default:
		return name + ": " + msg
	}
}

// optionValues is the extra config of clone i: the same keys, in the same
// encodings, that Bonneville's ContainerVM writes (the guest contract of
// docs/guest-contract.md and the bonneville.* ownership keys), so both clients
// send clone specs of the same shape and size.
func optionValues(o options, i int, name string, parent types.ManagedObjectReference) []types.BaseOptionValue {
	encode := func(v interface{}) string {
		b, _ := json.Marshal(v)
		return base64.StdEncoding.EncodeToString(b)
	}
	encodeFlag := func(raw string, extra map[string]string) string {
		if raw == "" && len(extra) == 0 {
			return ""
		}
		var v interface{}
		if raw != "" {
			_ = json.Unmarshal([]byte(raw), &v) // validated in parseFlags
		}
		if len(extra) > 0 {
			m, _ := v.(map[string]interface{})
			if m == nil {
				m = map[string]interface{}{}
			}
			for k, x := range extra {
				m[k] = x
			}
			v = m
		}
		return encode(v)
	}
	type nic struct {
		Name        string `json:"name"`
		PortGroupID string `json:"portGroupId"`
	}
	var nics []nic
	if o.network != "" {
		nics = []nic{{Name: "nic0", PortGroupID: o.network}}
	}
	urn := o.urnPrefix + name
	sum := sha256.Sum256([]byte(urn + "\x00" + parent.Value + o.image + o.command + o.env + o.network))
	values := [][2]string{
		{"guestinfo.bonneville.version", "1"},
		{"guestinfo.bonneville.name", name},
		{"guestinfo.bonneville.image", o.image},
		{"guestinfo.bonneville.command", encodeFlag(o.command, nil)},
		{"guestinfo.bonneville.env", encodeFlag(o.env, nil)},
		{"guestinfo.bonneville.labels", encodeFlag(o.labels, map[string]string{"index": strconv.Itoa(i)})},
		{"guestinfo.bonneville.networks", encode(nics)},
		{"guestinfo.bonneville.generation", newGeneration()},
		{"guestinfo.bonneville.status", ""},
		{"guestinfo.bonneville.statusGeneration", ""},
		{"guestinfo.bonneville.exitCode", ""},
		{"guestinfo.bonneville.error", ""},
		{"bonneville.managed", "true"},
		{"bonneville.urn", urn},
		{"bonneville.role", "container"},
		{"bonneville.parent", parent.Value},
		{"bonneville.specDigest", hex.EncodeToString(sum[:])[:32]},
	}
	out := make([]types.BaseOptionValue, len(values))
	for k, kv := range values {
		out[k] = &types.OptionValue{Key: kv[0], Value: kv[1]}
	}
	return out
}

// ---------------------------------------------------------------------------
// The benchmark.

type result struct {
	N                   int            `json:"n"`
	Concurrency         int            `json:"concurrency"`
	Parents             []string       `json:"parents"`
	WallMs              float64        `json:"wallMs"`
	StartUnixMs         float64        `json:"startUnixMs"` // when the clones were started (wall clock)
	CreateMs            []float64      `json:"createMs"`
	CreateStats         latencyStats   `json:"createStats"`
	CreateCPUMs         float64        `json:"createCpuMs"`
	SoapCalls           map[string]int `json:"soapCalls"`
	SoapCallsTotal      int            `json:"soapCallsTotal"`
	SetupSoapCalls      map[string]int `json:"setupSoapCalls"`
	DestroyWallMs       *float64       `json:"destroyWallMs"`
	DestroyMs           []float64      `json:"destroyMs,omitempty"`
	DestroySoapCalls    map[string]int `json:"destroySoapCalls,omitempty"`
	DestroySoapCallsTot int            `json:"destroySoapCallsTotal,omitempty"`
	DestroyCPUMs        float64        `json:"destroyCpuMs,omitempty"`
	Errors              []string       `json:"errors"`
}

type latencyStats struct {
	Min, P50, P95, P99, Max, Mean float64
}

func (s latencyStats) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]float64{"min": s.Min, "p50": s.P50, "p95": s.P95, "p99": s.P99, "max": s.Max, "mean": s.Mean})
}

func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*100) / 100
}

func summarize(values []float64) latencyStats {
	var ok []float64
	for _, v := range values {
		if v >= 0 {
			ok = append(ok, v)
		}
	}
	if len(ok) == 0 {
		return latencyStats{}
	}
	sort.Float64s(ok)
	pick := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(ok)))) - 1
		if i < 0 {
			i = 0
		}
		return ok[i]
	}
	sum := 0.0
	for _, v := range ok {
		sum += v
	}
	return latencyStats{Min: ok[0], P50: pick(0.5), P95: pick(0.95), P99: pick(0.99), Max: ok[len(ok)-1],
		Mean: math.Round(sum/float64(len(ok))*100) / 100}
}

// cpuTime is the CPU time (user + system) this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runConcurrently calls f(i) for i in [0,n), at most limit at a time.
func runConcurrently(n, limit int, f func(i int)) {
	if limit < 1 {
		limit = 1
	}
	slots := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		slots <- struct{}{}
		go func(i int) {
			defer func() { <-slots; wg.Done() }()
			f(i)
		}(i)
	}
	wg.Wait()
}

func instantClone(ctx context.Context, c *vim25.Client, parent types.ManagedObjectReference, spec types.VirtualMachineInstantCloneSpec) (types.ManagedObjectReference, error) {
	res, err := methods.InstantClone_Task(ctx, c, &types.InstantClone_Task{This: parent, Spec: spec})
	if err != nil {
		return types.ManagedObjectReference{}, err
	}
	info, err := object.NewTask(c, res.Returnval).WaitForResult(ctx, nil)
	if err != nil {
		return types.ManagedObjectReference{}, err
	}
	vm, ok := info.Result.(types.ManagedObjectReference)
	if !ok {
		return types.ManagedObjectReference{}, fmt.Errorf("task result is %T, not a VM", info.Result)
	}
	return vm, nil
}

func destroyVM(ctx context.Context, c *vim25.Client, vm types.ManagedObjectReference) error {
	v := object.NewVirtualMachine(c, vm)
	off, err := v.PowerOff(ctx)
	if err == nil {
		_, err = off.WaitForResult(ctx, nil)
	}
	if err != nil {
		return fmt.Errorf("power off: %w", err)
	}
	gone, err := v.Destroy(ctx)
	if err == nil {
		_, err = gone.WaitForResult(ctx, nil)
	}
	if err != nil {
		return fmt.Errorf("destroy: %w", err)
	}
	return nil
}

func main() {
	o := parseFlags()
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()

	c, sm, counter, err := connect(ctx, o)
	if err != nil {
		fail("%v", err)
	}
	defer func() { _ = sm.Logout(context.Background()) }()

	var parents []types.ManagedObjectReference
	for _, p := range strings.Split(o.parents, ",") {
		if p = strings.TrimSpace(p); p != "" {
			parents = append(parents, *ref("VirtualMachine", p))
		}
	}
	if o.makeParents > 0 {
		start := time.Now()
		made, err := makeParents(ctx, c, o, o.makeParents)
		if err != nil {
			fail("make parents: %v", err)
		}
		parents = append(parents, made...)
		if o.n == 0 {
			ids := make([]string, len(made))
			for i, p := range made {
				ids[i] = p.Value
			}
			out, _ := json.Marshal(map[string]interface{}{"parents": ids, "wallMs": ms(time.Since(start))})
			fmt.Println(string(out))
			return
		}
	}

	// Look up what every clone of a parent needs once, before timing.
	edits := make([][]types.BaseVirtualDeviceConfigSpec, len(parents))
	for i, p := range parents {
		if edits[i], err = nicEdit(ctx, c, p, o.network); err != nil {
			fail("%v", err)
		}
	}
	setupCalls, _ := counter.take()

	res := result{
		N:              o.n,
		Concurrency:    o.concurrency,
		SetupSoapCalls: setupCalls,
		CreateMs:       make([]float64, o.n),
		Errors:         []string{},
	}
	for _, p := range parents {
		res.Parents = append(res.Parents, p.Value)
	}
	clones := make([]types.ManagedObjectReference, o.n)
	var errMu sync.Mutex
	addError := func(format string, args ...interface{}) {
		errMu.Lock()
		res.Errors = append(res.Errors, fmt.Sprintf(format, args...))
		errMu.Unlock()
	}

	cpuStart := cpuTime()
	start := time.Now()
	res.StartUnixMs = float64(start.UnixNano()) / 1e6
	runConcurrently(o.n, o.concurrency, func(i int) {
		name := fmt.Sprintf("%s-%d", o.prefix, i)
		p := i % len(parents)
		spec := types.VirtualMachineInstantCloneSpec{
			Name: name,
			Location: types.VirtualMachineRelocateSpec{
				Folder:       ref("Folder", o.folder),
				Pool:         ref("ResourcePool", o.pool),
				DeviceChange: edits[p],
			},
			Config: optionValues(o, i, name, parents[p]),
		}
		t0 := time.Now()
		vm, err := instantClone(ctx, c, parents[p], spec)
		if err != nil {
			res.CreateMs[i] = -1
			addError("create %s: %s", name, describe(err))
			return
		}
		res.CreateMs[i] = ms(time.Since(t0))
		clones[i] = vm
	})
	res.WallMs = ms(time.Since(start))
	res.CreateCPUMs = ms(cpuTime() - cpuStart)
	res.CreateStats = summarize(res.CreateMs)
	res.SoapCalls, res.SoapCallsTotal = counter.take()

	if o.destroy {
		res.DestroyMs = make([]float64, o.n)
		cpuStart := cpuTime()
		start := time.Now()
		runConcurrently(o.n, o.concurrency, func(i int) {
			if clones[i].Value == "" {
				res.DestroyMs[i] = -1
				return
			}
			t0 := time.Now()
			if err := destroyVM(ctx, c, clones[i]); err != nil {
				res.DestroyMs[i] = -1
				addError("destroy %s: %s", clones[i].Value, describe(err))
				return
			}
			res.DestroyMs[i] = ms(time.Since(t0))
		})
		d := ms(time.Since(start))
		res.DestroyWallMs = &d
		res.DestroyCPUMs = ms(cpuTime() - cpuStart)
		res.DestroySoapCalls, res.DestroySoapCallsTot = counter.take()
	}

	out, err := json.Marshal(res)
	if err != nil {
		fail("%v", err)
	}
	fmt.Println(string(out))
	if len(res.Errors) > 0 {
		os.Exit(1)
	}
}

// Tests that pin the embedded vSphere's behaviour over SOAP. They start the
// real simulator in this process (serve, as main does) and talk to it only
// through govmomi's SOAP client, as any vSphere program would: nothing here
// reaches into the simulator's objects. Run them with sim/test.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io/ioutil"
	"log"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const (
	testUser      = "administrator@vsphere.local"
	testPassword  = "sim-test-password"
	testReady     = 300 * time.Millisecond
	testCloneBoot = 50 * time.Millisecond
	// testToolsRefresh is how often simulated Tools polls guest networks here.
	testToolsRefresh = 400 * time.Millisecond
)

var sim *instance

func TestMain(m *testing.M) {
	if os.Getenv("BONNEVILLE_SIM_TRACE") == "" {
		// The simulator logs expected faults; keep test output readable.
		log.SetOutput(ioutil.Discard)
	}
	var err error
	sim, err = serve(config{
		Host:       "127.0.0.1",
		Port:       "0",
		User:       testUser,
		Password:   testPassword,
		ReadyDelay: testReady,
		CloneBoot:  testCloneBoot,
		// Short, so that tests see Tools' poll; the default is 30 s.
		ToolsNetRefresh: testToolsRefresh,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the simulator:", err)
		os.Exit(2)
	}
	code := m.Run()
	sim.Close()
	os.Exit(code)
}

// ---------------------------------------------------------------------------
// Helpers: a SOAP session, the inventory, clones, faults, the control API.

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func sdkURL(user, password string) *url.URL {
	u := *sim.URL
	u.User = url.UserPassword(user, password)
	return &u
}

// login opens a SOAP session of its own for one test.
func login(t *testing.T) *govmomi.Client {
	t.Helper()
	ctx := testContext(t)
	c, err := govmomi.NewClient(ctx, sdkURL(testUser, testPassword), true)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	t.Cleanup(func() { _ = c.Logout(context.Background()) })
	return c
}

// faultName is the vim fault type behind err ("InvalidState"), whether it
// came as a SOAP fault or as a failed task; "" when err carries none.
func faultName(err error) string {
	if err == nil {
		return ""
	}
	var fault interface{}
	var te task.Error
	switch {
	case errors.As(err, &te):
		fault = te.Fault()
	case soap.IsSoapFault(err):
		fault = soap.ToSoapFault(err).VimFault() // decoded as a value, not a pointer
	case soap.IsVimFault(err):
		fault = soap.ToVimFault(err)
	}
	if fault == nil {
		return ""
	}
	return reflect.Indirect(reflect.ValueOf(fault)).Type().Name()
}

func wantFault(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := faultName(err); got != want {
		t.Fatalf("%s: want fault %s, got %v (fault %q)", what, want, err, got)
	}
}

type inventory struct {
	dc        mo.Datacenter
	vmFolder  *object.Folder
	cluster   mo.ClusterComputeResource
	pool      *object.ResourcePool // the cluster's root pool
	hosts     []types.ManagedObjectReference
	dvs       mo.DistributedVirtualSwitch
	portGroup map[string]mo.DistributedVirtualPortgroup // by name
	datastore []mo.Datastore
	template  mo.VirtualMachine
}

// retrieveAll gets every object of a kind in the inventory, through a
// container view on the root folder.
func retrieveAll(ctx context.Context, t *testing.T, c *vim25.Client, kind string, props []string, dst interface{}) {
	t.Helper()
	m := view.NewManager(c)
	v, err := m.CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{kind}, true)
	if err != nil {
		t.Fatalf("container view of %s: %v", kind, err)
	}
	defer func() { _ = v.Destroy(ctx) }()
	if err := v.Retrieve(ctx, []string{kind}, props, dst); err != nil {
		t.Fatalf("retrieve %s: %v", kind, err)
	}
}

func loadInventory(t *testing.T, c *govmomi.Client) *inventory {
	t.Helper()
	ctx := testContext(t)
	inv := &inventory{portGroup: map[string]mo.DistributedVirtualPortgroup{}}

	var dcs []mo.Datacenter
	retrieveAll(ctx, t, c.Client, "Datacenter", []string{"name", "vmFolder"}, &dcs)
	if len(dcs) != 1 {
		t.Fatalf("want 1 datacenter, got %d", len(dcs))
	}
	inv.dc = dcs[0]
	inv.vmFolder = object.NewFolder(c.Client, inv.dc.VmFolder)

	var clusters []mo.ClusterComputeResource
	retrieveAll(ctx, t, c.Client, "ClusterComputeResource", []string{"name", "host", "resourcePool"}, &clusters)
	if len(clusters) != 1 {
		t.Fatalf("want 1 cluster, got %d", len(clusters))
	}
	inv.cluster = clusters[0]
	inv.pool = object.NewResourcePool(c.Client, *inv.cluster.ResourcePool)
	inv.hosts = inv.cluster.Host

	var switches []mo.DistributedVirtualSwitch
	retrieveAll(ctx, t, c.Client, "DistributedVirtualSwitch", []string{"name", "uuid", "portgroup"}, &switches)
	if len(switches) != 1 {
		t.Fatalf("want 1 distributed switch, got %d", len(switches))
	}
	inv.dvs = switches[0]

	var pgs []mo.DistributedVirtualPortgroup
	retrieveAll(ctx, t, c.Client, "DistributedVirtualPortgroup", []string{"name", "key", "config"}, &pgs)
	for _, pg := range pgs {
		inv.portGroup[pg.Name] = pg
	}

	retrieveAll(ctx, t, c.Client, "Datastore", []string{"name"}, &inv.datastore)

	var vms []mo.VirtualMachine
	retrieveAll(ctx, t, c.Client, "VirtualMachine", []string{"name", "config", "runtime"}, &vms)
	for _, vm := range vms {
		if vm.Name == sourceTemplateName {
			inv.template = vm
		}
	}
	if inv.template.Self.Value == "" {
		t.Fatalf("no VM named %s", sourceTemplateName)
	}
	return inv
}

var nameCounter int64

// uniqueName makes VM names that no other test uses.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, atomic.AddInt64(&nameCounter, 1))
}

var vmProps = []string{"name", "config", "runtime", "guest", "parent", "resourcePool", "network"}

func getVM(t *testing.T, c *govmomi.Client, ref types.ManagedObjectReference) mo.VirtualMachine {
	t.Helper()
	var vm mo.VirtualMachine
	if err := property.DefaultCollector(c.Client).RetrieveOne(testContext(t), ref, vmProps, &vm); err != nil {
		t.Fatalf("retrieve %s: %v", ref, err)
	}
	return vm
}

// options is a VM's extra config as a map; counts how often each key occurs.
func options(vm mo.VirtualMachine) (map[string]string, map[string]int) {
	values := map[string]string{}
	counts := map[string]int{}
	if vm.Config == nil {
		return values, counts
	}
	for _, o := range vm.Config.ExtraConfig {
		ov := o.GetOptionValue()
		values[ov.Key] = fmt.Sprint(ov.Value)
		counts[ov.Key]++
	}
	return values, counts
}

func nics(vm mo.VirtualMachine) []types.BaseVirtualDevice {
	return object.VirtualDeviceList(vm.Config.Hardware.Device).SelectByType((*types.VirtualEthernetCard)(nil))
}

func nicPortgroup(nic types.BaseVirtualDevice) string {
	if b, ok := nic.GetVirtualDevice().Backing.(*types.VirtualEthernetCardDistributedVirtualPortBackingInfo); ok {
		return b.Port.PortgroupKey
	}
	return ""
}

// cloneTemplate copies the source template with CloneVM_Task.
func cloneTemplate(ctx context.Context, c *govmomi.Client, inv *inventory, name string, host types.ManagedObjectReference, powerOn bool) (types.ManagedObjectReference, error) {
	pool := inv.pool.Reference()
	tmpl := object.NewVirtualMachine(c.Client, inv.template.Self)
	t, err := tmpl.Clone(ctx, inv.vmFolder, name, types.VirtualMachineCloneSpec{
		Location: types.VirtualMachineRelocateSpec{Pool: &pool, Host: &host},
		PowerOn:  powerOn,
	})
	if err != nil {
		return types.ManagedObjectReference{}, err
	}
	info, err := t.WaitForResult(ctx, nil)
	if err != nil {
		return types.ManagedObjectReference{}, err
	}
	return info.Result.(types.ManagedObjectReference), nil
}

// newParent is a powered-on copy of the template on the given host.
func newParent(t *testing.T, c *govmomi.Client, inv *inventory, host types.ManagedObjectReference) types.ManagedObjectReference {
	t.Helper()
	ref, err := cloneTemplate(testContext(t), c, inv, uniqueName("parent"), host, true)
	if err != nil {
		t.Fatalf("clone the template into a parent: %v", err)
	}
	return ref
}

// instantClone calls InstantClone_Task and waits for its task.
func instantClone(ctx context.Context, c *govmomi.Client, parent types.ManagedObjectReference, spec types.VirtualMachineInstantCloneSpec) (types.ManagedObjectReference, error) {
	res, err := methods.InstantClone_Task(ctx, c.Client, &types.InstantClone_Task{This: parent, Spec: spec})
	if err != nil {
		return types.ManagedObjectReference{}, err
	}
	info, err := object.NewTask(c.Client, res.Returnval).WaitForResult(ctx, nil)
	if err != nil {
		return types.ManagedObjectReference{}, err
	}
	ref, ok := info.Result.(types.ManagedObjectReference)
	if !ok {
		return types.ManagedObjectReference{}, fmt.Errorf("task result is %T, not a moref", info.Result)
	}
	return ref, nil
}

func imageSpec(name string, extra ...types.BaseOptionValue) types.VirtualMachineInstantCloneSpec {
	config := append([]types.BaseOptionValue{
		&types.OptionValue{Key: "guestinfo.bonneville.image", Value: "nginx:1.25"},
		&types.OptionValue{Key: "guestinfo.bonneville.generation", Value: "1"},
	}, extra...)
	return types.VirtualMachineInstantCloneSpec{Name: name, Config: config}
}

// childNames counts the names of a folder's children.
func childNames(t *testing.T, c *govmomi.Client, folder types.ManagedObjectReference) map[string]int {
	t.Helper()
	ctx := testContext(t)
	var f mo.Folder
	if err := property.DefaultCollector(c.Client).RetrieveOne(ctx, folder, []string{"childEntity"}, &f); err != nil {
		t.Fatalf("retrieve folder: %v", err)
	}
	out := map[string]int{}
	if len(f.ChildEntity) == 0 {
		return out
	}
	var children []mo.ManagedEntity
	if err := property.DefaultCollector(c.Client).Retrieve(ctx, f.ChildEntity, []string{"name"}, &children); err != nil {
		t.Fatalf("retrieve children: %v", err)
	}
	for _, e := range children {
		out[e.Name]++
	}
	return out
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var controlClient = &http.Client{
	Timeout:   10 * time.Second,
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
}

// control calls the simulator's control API and decodes its JSON answer.
func control(t *testing.T, method, path string, body interface{}, out interface{}) int {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	u := *sim.URL
	u.Path = path
	req, _ := http.NewRequest(method, u.String(), rd)
	req.Header.Set("Content-Type", "application/json")
	res, err := controlClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return res.StatusCode
}

type faultRule map[string]interface{}

func injectFault(t *testing.T, rule faultRule) {
	t.Helper()
	var out map[string]interface{}
	if code := control(t, http.MethodPost, "/bonneville/faults", rule, &out); code != http.StatusOK {
		t.Fatalf("POST /bonneville/faults %v: status %d %v", rule, code, out)
	}
	t.Cleanup(func() { clearFaults(t) })
}

func clearFaults(t *testing.T) {
	t.Helper()
	if code := control(t, http.MethodDelete, "/bonneville/faults", nil, nil); code != http.StatusOK {
		t.Fatalf("DELETE /bonneville/faults: status %d", code)
	}
}

type stats struct {
	Calls    map[string]int64 `json:"calls"`
	Injected map[string]int64 `json:"injected"`
	Sessions int              `json:"sessions"`
}

func getStats(t *testing.T) stats {
	t.Helper()
	var s stats
	if code := control(t, http.MethodGet, "/bonneville/stats", nil, &s); code != http.StatusOK {
		t.Fatalf("GET /bonneville/stats: status %d", code)
	}
	return s
}

func resetStats(t *testing.T) {
	t.Helper()
	if code := control(t, http.MethodPost, "/bonneville/stats/reset", nil, nil); code != http.StatusOK {
		t.Fatalf("POST /bonneville/stats/reset: status %d", code)
	}
}

// ---------------------------------------------------------------------------
// 1. Login.

func TestLoginWithTheConfiguredCredentialsSucceeds(t *testing.T) {
	c := login(t)
	s, err := c.SessionManager.UserSession(testContext(t))
	if err != nil {
		t.Fatalf("UserSession: %v", err)
	}
	if s == nil || s.UserName != testUser {
		t.Fatalf("want a session for %s, got %+v", testUser, s)
	}
	if got := c.ServiceContent.About.ApiType; got != "VirtualCenter" {
		t.Fatalf("want apiType VirtualCenter, got %q", got)
	}
}

func TestLoginWithAWrongPasswordFailsWithInvalidLogin(t *testing.T) {
	_, err := govmomi.NewClient(testContext(t), sdkURL(testUser, "not-the-password"), true)
	wantFault(t, "login with a wrong password", err, "InvalidLogin")
}

func TestTheAnnouncedThumbprintIsTheSHA256OfTheServedCertificate(t *testing.T) {
	conn, err := tls.Dial("tcp", sim.URL.Host, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	defer conn.Close()
	sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].Raw)
	var parts []string
	for _, b := range sum {
		parts = append(parts, fmt.Sprintf("%02X", b))
	}
	if got := strings.Join(parts, ":"); got != sim.Thumbprint {
		t.Fatalf("served certificate's SHA-256 %s differs from the announced %s", got, sim.Thumbprint)
	}
}

// ---------------------------------------------------------------------------
// 2. Inventory.

func TestInventoryIsOneDatacenterOneClusterOfThreeHostsADVSWithTwoPortGroupsAndLocalDS0(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)

	if len(inv.hosts) != 3 {
		t.Fatalf("want 3 hosts in cluster %s, got %d", inv.cluster.Name, len(inv.hosts))
	}
	var allHosts []mo.HostSystem
	retrieveAll(testContext(t), t, c.Client, "HostSystem", []string{"name"}, &allHosts)
	if len(allHosts) != 3 {
		t.Fatalf("want 3 hosts in the inventory (none standalone), got %d", len(allHosts))
	}

	var names []string
	for name, pg := range inv.portGroup {
		if strings.Contains(name, "DVUplinks") {
			continue
		}
		if pg.Config.DistributedVirtualSwitch == nil || *pg.Config.DistributedVirtualSwitch != inv.dvs.Self {
			t.Fatalf("port group %s is not on switch %s", name, inv.dvs.Name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	if want := []string{"DC0_DVPG0", "DC0_DVPG1"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("want port groups %v, got %v", want, names)
	}

	if len(inv.datastore) != 1 || inv.datastore[0].Name != "LocalDS_0" {
		var ds []string
		for _, d := range inv.datastore {
			ds = append(ds, d.Name)
		}
		t.Fatalf("want exactly datastore LocalDS_0, got %v", ds)
	}
}

func TestTheSourceTemplateIsATemplateWithOneNICAndTheAgentVersion(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	tmpl := inv.template
	if !tmpl.Config.Template {
		t.Fatalf("%s must be marked as template", sourceTemplateName)
	}
	if tmpl.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOff {
		t.Fatalf("a template is powered off, got %s", tmpl.Runtime.PowerState)
	}
	if n := len(nics(tmpl)); n != 1 {
		t.Fatalf("want 1 NIC on the template, got %d", n)
	}
	if pg := nicPortgroup(nics(tmpl)[0]); pg != inv.portGroup["DC0_DVPG0"].Key {
		t.Fatalf("want the template's NIC on DC0_DVPG0 (%s), got %q", inv.portGroup["DC0_DVPG0"].Key, pg)
	}
	values, counts := options(tmpl)
	if values["guestinfo.bonneville.agentVersion"] != "2" || counts["guestinfo.bonneville.agentVersion"] != 1 {
		t.Fatalf("want guestinfo.bonneville.agentVersion=2 once, got %q (%d times)",
			values["guestinfo.bonneville.agentVersion"], counts["guestinfo.bonneville.agentVersion"])
	}
}

// ---------------------------------------------------------------------------
// 3. CloneVM_Task.

func TestCloneVMOfTheTemplateWithPowerOnMakesAPoweredOnVMOnTheRequestedHostThatBecomesReady(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	host := inv.hosts[2]
	if inv.template.Runtime.Host != nil && *inv.template.Runtime.Host == host {
		t.Fatalf("test setup: pick a host other than the template's")
	}

	start := time.Now()
	ref, err := cloneTemplate(testContext(t), c, inv, uniqueName("cloned"), host, true)
	if err != nil {
		t.Fatalf("CloneVM_Task: %v", err)
	}
	vm := getVM(t, c, ref)
	if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
		t.Fatalf("want poweredOn, got %s", vm.Runtime.PowerState)
	}
	if vm.Runtime.Host == nil || *vm.Runtime.Host != host {
		t.Fatalf("want the clone on %s (spec.location.host), got %v", host, vm.Runtime.Host)
	}
	if vm.ResourcePool == nil || *vm.ResourcePool != inv.pool.Reference() {
		t.Fatalf("want the clone in pool %s, got %v", inv.pool.Reference(), vm.ResourcePool)
	}
	if vm.Config.Template {
		t.Fatalf("the clone must not be a template")
	}
	values, _ := options(vm)
	if values["guestinfo.bonneville.agentVersion"] != "2" {
		t.Fatalf("want the template's extra config inherited, got %v", values)
	}
	if _, ready := values["guestinfo.bonneville.ready"]; ready && time.Since(start) < testReady {
		t.Fatalf("ready must not be signalled before %s", testReady)
	}

	var readyAt time.Time
	readyAt = eventually(t, 5*time.Second, "guestinfo.bonneville.ready=true and a guest IP", func() bool {
		vm = getVM(t, c, ref)
		values, _ = options(vm)
		return values["guestinfo.bonneville.ready"] == "true" && vm.Guest != nil && vm.Guest.IpAddress != ""
	})
	if took := readyAt.Sub(start); took < testReady {
		t.Fatalf("ready after %s, before the configured %s", took, testReady)
	}
	if !strings.HasPrefix(vm.Guest.IpAddress, "198.1") {
		t.Fatalf("want a guest IP from 198.18.0.0/15, got %s", vm.Guest.IpAddress)
	}
}

// ---------------------------------------------------------------------------
// 4. InstantClone_Task.

func TestInstantCloneOfAPoweredOnVMIsPoweredOnOnTheSourceHostInTheRequestedFolderAndPool(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	parentRef := newParent(t, c, inv, inv.hosts[1])

	folder, err := inv.vmFolder.CreateFolder(ctx, uniqueName("folder"))
	if err != nil {
		t.Fatalf("CreateFolder: %v", err)
	}
	pool, err := inv.pool.Create(ctx, uniqueName("pool"), types.DefaultResourceConfigSpec())
	if err != nil {
		t.Fatalf("CreateResourcePool: %v", err)
	}
	folderRef, poolRef := folder.Reference(), pool.Reference()

	name := uniqueName("instant")
	spec := imageSpec(name, &types.OptionValue{Key: "guestinfo.bonneville.env.FOO", Value: "bar"})
	spec.Location = types.VirtualMachineRelocateSpec{Folder: &folderRef, Pool: &poolRef}
	ref, err := instantClone(ctx, c, parentRef, spec)
	if err != nil {
		t.Fatalf("InstantClone_Task: %v", err)
	}
	if ref.Type != "VirtualMachine" || ref == parentRef {
		t.Fatalf("want the new VM's moref as the task result, got %v", ref)
	}

	clone, parent := getVM(t, c, ref), getVM(t, c, parentRef)
	if clone.Name != name {
		t.Fatalf("want name %s, got %s", name, clone.Name)
	}
	if clone.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
		t.Fatalf("want poweredOn, got %s", clone.Runtime.PowerState)
	}
	if *clone.Runtime.Host != *parent.Runtime.Host {
		t.Fatalf("want the clone on the source's host %s, got %s", parent.Runtime.Host, clone.Runtime.Host)
	}
	if *clone.Parent != folderRef {
		t.Fatalf("want the clone in folder %s, got %s", folderRef, clone.Parent)
	}
	if *clone.ResourcePool != poolRef {
		t.Fatalf("want the clone in pool %s, got %s", poolRef, clone.ResourcePool)
	}

	values, counts := options(clone)
	for k, v := range map[string]string{
		"guestinfo.bonneville.image":        "nginx:1.25",
		"guestinfo.bonneville.generation":   "1",
		"guestinfo.bonneville.env.FOO":      "bar",
		"guestinfo.bonneville.agentVersion": "2",
	} {
		if values[k] != v || counts[k] != 1 {
			t.Fatalf("want %s=%s once in the clone's extra config, got %q (%d times)", k, v, values[k], counts[k])
		}
	}

	cn, pn := nics(clone), nics(parent)
	if len(cn) != 1 || len(pn) != 1 {
		t.Fatalf("want one NIC on parent and clone, got %d and %d", len(pn), len(cn))
	}
	cmac := cn[0].(types.BaseVirtualEthernetCard).GetVirtualEthernetCard().MacAddress
	pmac := pn[0].(types.BaseVirtualEthernetCard).GetVirtualEthernetCard().MacAddress
	if cmac == "" || cmac == pmac {
		t.Fatalf("want a new MAC on the clone, parent %q clone %q", pmac, cmac)
	}

	eventually(t, 5*time.Second, "the clone's guest agent to report its container running", func() bool {
		v, _ := options(getVM(t, c, ref))
		return v["guestinfo.bonneville.status"] == "running" && v["guestinfo.bonneville.statusGeneration"] == "1"
	})
}

func TestEveryInstantCloneGetsAMACOfItsOwn(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	parents := []types.ManagedObjectReference{newParent(t, c, inv, inv.hosts[0]), newParent(t, c, inv, inv.hosts[1])}

	seen := map[string]string{}
	for _, p := range parents {
		for _, n := range nics(getVM(t, c, p)) {
			seen[n.(types.BaseVirtualEthernetCard).GetVirtualEthernetCard().MacAddress] = p.Value
		}
	}
	for i := 0; i < 200; i++ {
		ref, err := instantClone(ctx, c, parents[i%2], imageSpec(uniqueName("mac")))
		if err != nil {
			t.Fatalf("InstantClone_Task %d: %v", i, err)
		}
		for _, n := range nics(getVM(t, c, ref)) {
			mac := n.(types.BaseVirtualEthernetCard).GetVirtualEthernetCard().MacAddress
			if other, dup := seen[mac]; dup {
				t.Fatalf("clone %s got MAC %s, already used by %s", ref.Value, mac, other)
			}
			seen[mac] = ref.Value
		}
	}
}

// ---------------------------------------------------------------------------
// 5. Powered-off sources.

func TestInstantCloneOfAPoweredOffVMFailsWithInvalidState(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)

	off, err := cloneTemplate(ctx, c, inv, uniqueName("off"), inv.hosts[0], false)
	if err != nil {
		t.Fatalf("CloneVM_Task powerOn=false: %v", err)
	}
	if ps := getVM(t, c, off).Runtime.PowerState; ps != types.VirtualMachinePowerStatePoweredOff {
		t.Fatalf("want the powerOn=false clone poweredOff, got %s", ps)
	}
	name := uniqueName("from-off")
	_, err = instantClone(ctx, c, off, imageSpec(name))
	wantFault(t, "instant clone of a powered-off VM", err, "InvalidState")

	_, err = instantClone(ctx, c, inv.template.Self, imageSpec(name))
	wantFault(t, "instant clone of the template", err, "InvalidState")

	// A VM that was on and is now off.
	was := newParent(t, c, inv, inv.hosts[1])
	pt, err := object.NewVirtualMachine(c.Client, was).PowerOff(ctx)
	if err == nil {
		err = pt.Wait(ctx)
	}
	if err != nil {
		t.Fatalf("PowerOff: %v", err)
	}
	_, err = instantClone(ctx, c, was, imageSpec(name))
	wantFault(t, "instant clone of a powered-off parent", err, "InvalidState")

	if n := childNames(t, c, inv.vmFolder.Reference())[name]; n != 0 {
		t.Fatalf("a failed instant clone must leave no VM behind, found %d named %s", n, name)
	}
}

// ---------------------------------------------------------------------------
// 6. Names.

func TestInstantCloneWithoutANameFailsWithInvalidArgument(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	parent := newParent(t, c, inv, inv.hosts[0])
	_, err := instantClone(testContext(t), c, parent, imageSpec(""))
	wantFault(t, "instant clone without spec.name", err, "InvalidArgument")
}

func TestInstantCloneToANameTakenInTheFolderFailsWithDuplicateName(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	parent := newParent(t, c, inv, inv.hosts[0])
	name := uniqueName("dup")
	if _, err := instantClone(ctx, c, parent, imageSpec(name)); err != nil {
		t.Fatalf("first clone: %v", err)
	}
	_, err := instantClone(ctx, c, parent, imageSpec(name))
	wantFault(t, "second clone with the same name", err, "DuplicateName")
	if n := childNames(t, c, inv.vmFolder.Reference())[name]; n != 1 {
		t.Fatalf("want exactly 1 VM named %s, got %d", name, n)
	}
}

func TestConcurrentInstantClonesWithTheSameNameExactlyOneSucceeds(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	// Two parents, so the clones are not serialised by one source's lock.
	parents := []types.ManagedObjectReference{newParent(t, c, inv, inv.hosts[0]), newParent(t, c, inv, inv.hosts[1])}

	for round, n := range []int{2, 8} {
		name := uniqueName(fmt.Sprintf("race%d", round))
		errs := make([]error, n)
		var wg sync.WaitGroup
		startGun := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-startGun
				_, errs[i] = instantClone(ctx, c, parents[i%2], imageSpec(name))
			}(i)
		}
		close(startGun)
		wg.Wait()

		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case faultName(err) != "DuplicateName":
				t.Fatalf("clone %d of %d: want success or DuplicateName, got %v", i, n, err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d concurrent clones named %s: want exactly 1 success, got %d", n, name, ok)
		}
		if got := childNames(t, c, inv.vmFolder.Reference())[name]; got != 1 {
			t.Fatalf("want exactly 1 VM named %s, got %d", name, got)
		}
	}
}

// ---------------------------------------------------------------------------
// 7. location.deviceChange.

func TestInstantCloneHonoursANICBackingEditAndLeavesTheParentAlone(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	parentRef := newParent(t, c, inv, inv.hosts[0])
	parent := getVM(t, c, parentRef)
	pg0, pg1 := inv.portGroup["DC0_DVPG0"], inv.portGroup["DC0_DVPG1"]

	nic := nics(parent)[0]
	edited := reflect.New(reflect.TypeOf(nic).Elem()) // a copy of the concrete card
	edited.Elem().Set(reflect.ValueOf(nic).Elem())
	card := edited.Interface().(types.BaseVirtualDevice)
	card.GetVirtualDevice().Backing = &types.VirtualEthernetCardDistributedVirtualPortBackingInfo{
		Port: types.DistributedVirtualSwitchPortConnection{SwitchUuid: inv.dvs.Uuid, PortgroupKey: pg1.Key},
	}
	spec := imageSpec(uniqueName("pg1"))
	spec.Location.DeviceChange = []types.BaseVirtualDeviceConfigSpec{&types.VirtualDeviceConfigSpec{
		Operation: types.VirtualDeviceConfigSpecOperationEdit,
		Device:    card,
	}}
	ref, err := instantClone(ctx, c, parentRef, spec)
	if err != nil {
		t.Fatalf("InstantClone_Task with a NIC edit: %v", err)
	}

	clone := getVM(t, c, ref)
	cn := nics(clone)
	if len(cn) != 1 {
		t.Fatalf("want 1 NIC on the clone, got %d", len(cn))
	}
	if got := nicPortgroup(cn[0]); got != pg1.Key {
		t.Fatalf("want the clone's NIC on DC0_DVPG1 (%s), got %q", pg1.Key, got)
	}
	if want := []types.ManagedObjectReference{pg1.Self}; !reflect.DeepEqual(clone.Network, want) {
		t.Fatalf("want the clone's networks %v, got %v", want, clone.Network)
	}
	if cmac, pmac := cn[0].(types.BaseVirtualEthernetCard).GetVirtualEthernetCard().MacAddress,
		nic.(types.BaseVirtualEthernetCard).GetVirtualEthernetCard().MacAddress; cmac == pmac {
		t.Fatalf("the edited NIC must keep a MAC of its own, got the parent's %s", pmac)
	}

	parent = getVM(t, c, parentRef)
	if got := nicPortgroup(nics(parent)[0]); got != pg0.Key {
		t.Fatalf("the parent's NIC must stay on DC0_DVPG0 (%s), got %q", pg0.Key, got)
	}
	if want := []types.ManagedObjectReference{pg0.Self}; !reflect.DeepEqual(parent.Network, want) {
		t.Fatalf("want the parent's networks %v, got %v", want, parent.Network)
	}
}

func TestInstantCloneRejectsDeviceChangesOtherThanANICEdit(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	parentRef := newParent(t, c, inv, inv.hosts[0])
	parent := getVM(t, c, parentRef)
	devices := object.VirtualDeviceList(parent.Config.Hardware.Device)
	disk := devices.SelectByType((*types.VirtualDisk)(nil))[0]
	nic := nics(parent)[0]
	pg1 := inv.portGroup["DC0_DVPG1"]
	newNIC, err := object.EthernetCardTypes().CreateEthernetCard("vmxnet3", &types.VirtualEthernetCardDistributedVirtualPortBackingInfo{
		Port: types.DistributedVirtualSwitchPortConnection{SwitchUuid: inv.dvs.Uuid, PortgroupKey: pg1.Key},
	})
	if err != nil {
		t.Fatal(err)
	}
	unknown := reflect.New(reflect.TypeOf(nic).Elem())
	unknown.Elem().Set(reflect.ValueOf(nic).Elem())
	unknownNIC := unknown.Interface().(types.BaseVirtualDevice)
	unknownNIC.GetVirtualDevice().Key = 987654

	for _, tc := range []struct {
		what   string
		change *types.VirtualDeviceConfigSpec
	}{
		{"an edit of the disk", &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: disk}},
		{"an add of a NIC", &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: newNIC}},
		{"a remove of the NIC", &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationRemove, Device: nic}},
		{"an edit of a NIC the source does not have", &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: unknownNIC}},
	} {
		name := uniqueName("badchange")
		spec := imageSpec(name)
		spec.Location.DeviceChange = []types.BaseVirtualDeviceConfigSpec{tc.change}
		_, err := instantClone(ctx, c, parentRef, spec)
		wantFault(t, tc.what, err, "InvalidArgument")
		if n := childNames(t, c, inv.vmFolder.Reference())[name]; n != 0 {
			t.Fatalf("%s: a rejected clone must leave no VM behind, found %d named %s", tc.what, n, name)
		}
	}
}

// ---------------------------------------------------------------------------
// 8. Other sources.

func TestInstantCloneWorksOnAVMMadeByCreateVMAndOnACloneOfAClone(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	host := object.NewHostSystem(c.Client, inv.hosts[2])
	pg0 := inv.portGroup["DC0_DVPG0"]

	card, err := object.EthernetCardTypes().CreateEthernetCard("vmxnet3", &types.VirtualEthernetCardDistributedVirtualPortBackingInfo{
		Port: types.DistributedVirtualSwitchPortConnection{SwitchUuid: inv.dvs.Uuid, PortgroupKey: pg0.Key},
	})
	if err != nil {
		t.Fatal(err)
	}
	createTask, err := inv.vmFolder.CreateVM(ctx, types.VirtualMachineConfigSpec{
		Name:     uniqueName("created"),
		GuestId:  string(types.VirtualMachineGuestOsIdentifierOtherLinux64Guest),
		NumCPUs:  1,
		MemoryMB: 512,
		Files:    &types.VirtualMachineFileInfo{VmPathName: "[LocalDS_0]"},
		DeviceChange: []types.BaseVirtualDeviceConfigSpec{&types.VirtualDeviceConfigSpec{
			Operation: types.VirtualDeviceConfigSpecOperationAdd,
			Device:    card,
		}},
		ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: "guestinfo.bonneville.agentVersion", Value: "1"}},
	}, inv.pool, host)
	if err != nil {
		t.Fatalf("CreateVM_Task: %v", err)
	}
	info, err := createTask.WaitForResult(ctx, nil)
	if err != nil {
		t.Fatalf("CreateVM_Task: %v", err)
	}
	created := info.Result.(types.ManagedObjectReference)
	powerOn, err := object.NewVirtualMachine(c.Client, created).PowerOn(ctx)
	if err == nil {
		err = powerOn.Wait(ctx)
	}
	if err != nil {
		t.Fatalf("PowerOn: %v", err)
	}

	first, err := instantClone(ctx, c, created, imageSpec(uniqueName("of-created")))
	if err != nil {
		t.Fatalf("instant clone of a CreateVM_Task VM: %v", err)
	}
	fvm := getVM(t, c, first)
	if fvm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn || *fvm.Runtime.Host != inv.hosts[2] {
		t.Fatalf("want the clone poweredOn on %s, got %s on %v", inv.hosts[2], fvm.Runtime.PowerState, fvm.Runtime.Host)
	}

	second, err := instantClone(ctx, c, first, types.VirtualMachineInstantCloneSpec{
		Name:   uniqueName("of-clone"),
		Config: []types.BaseOptionValue{&types.OptionValue{Key: "guestinfo.bonneville.generation", Value: "2"}},
	})
	if err != nil {
		t.Fatalf("instant clone of an instant clone: %v", err)
	}
	svm := getVM(t, c, second)
	if svm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn || *svm.Runtime.Host != inv.hosts[2] {
		t.Fatalf("want the clone of the clone poweredOn on %s, got %s on %v", inv.hosts[2], svm.Runtime.PowerState, svm.Runtime.Host)
	}
	values, counts := options(svm)
	if values["guestinfo.bonneville.image"] != "nginx:1.25" || values["guestinfo.bonneville.generation"] != "2" || counts["guestinfo.bonneville.generation"] != 1 {
		t.Fatalf("want the parent clone's image inherited and generation replaced by 2, got %v", values)
	}
}

// ---------------------------------------------------------------------------
// 9. ReconfigVM_Task extra config.

func TestReconfigureExtraConfigReplacesAKeyAndAnEmptyValueDeletesIt(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	ref := newParent(t, c, inv, inv.hosts[0])
	vm := object.NewVirtualMachine(c.Client, ref)
	reconfigure := func(kv ...string) {
		t.Helper()
		var opts []types.BaseOptionValue
		for i := 0; i < len(kv); i += 2 {
			opts = append(opts, &types.OptionValue{Key: kv[i], Value: kv[i+1]})
		}
		rt, err := vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{ExtraConfig: opts})
		if err == nil {
			err = rt.Wait(ctx)
		}
		if err != nil {
			t.Fatalf("ReconfigVM_Task %v: %v", kv, err)
		}
	}

	reconfigure("guestinfo.test.a", "1", "guestinfo.test.b", "keep")
	reconfigure("guestinfo.test.a", "2")
	values, counts := options(getVM(t, c, ref))
	if values["guestinfo.test.a"] != "2" || counts["guestinfo.test.a"] != 1 {
		t.Fatalf("want guestinfo.test.a=2 exactly once, got %q %d times", values["guestinfo.test.a"], counts["guestinfo.test.a"])
	}
	for k, n := range counts {
		if n != 1 {
			t.Fatalf("extra config key %s appears %d times", k, n)
		}
	}

	reconfigure("guestinfo.test.a", "")
	values, _ = options(getVM(t, c, ref))
	if v, ok := values["guestinfo.test.a"]; ok {
		t.Fatalf("an empty value must delete the key, still there with %q", v)
	}
	if values["guestinfo.test.b"] != "keep" || values["guestinfo.bonneville.agentVersion"] != "2" {
		t.Fatalf("other keys must be untouched, got %v", values)
	}
}

// ---------------------------------------------------------------------------
// 10. Fault injection and the control API.

func TestAnInjectedInstantCloneFaultFailsTheTaskWithThatFaultAndMakesNoVM(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	parent := newParent(t, c, inv, inv.hosts[0])
	injectFault(t, faultRule{"method": "InstantClone_Task", "fault": "InsufficientResourcesFault"})

	name := uniqueName("injected")
	res, err := methods.InstantClone_Task(ctx, c.Client, &types.InstantClone_Task{This: parent, Spec: imageSpec(name)})
	if err != nil {
		t.Fatalf("the call itself must succeed and return a task: %v", err)
	}
	_, err = object.NewTask(c.Client, res.Returnval).WaitForResult(ctx, nil)
	wantFault(t, "the injected task", err, "InsufficientResourcesFault")
	if n := childNames(t, c, inv.vmFolder.Reference())[name]; n != 0 {
		t.Fatalf("an injected fault must make no VM, found %d named %s", n, name)
	}

	clearFaults(t)
	if _, err := instantClone(ctx, c, parent, imageSpec(name)); err != nil {
		t.Fatalf("after DELETE /bonneville/faults the clone must succeed: %v", err)
	}
}

func TestAnInjectedFaultOnANonTaskMethodIsASOAPFault(t *testing.T) {
	c := login(t)
	injectFault(t, faultRule{"method": "CurrentTime", "fault": "HostCommunication"})
	_, err := methods.GetCurrentTime(testContext(t), c.Client)
	wantFault(t, "CurrentTime with an injected fault", err, "HostCommunication")
}

func TestAFaultHitByACallWithoutASessionIsAnsweredNotAuthenticatedAndNotCountedAsInjected(t *testing.T) {
	c := login(t)
	ctx := testContext(t)
	resetStats(t)
	injectFault(t, faultRule{"method": "CurrentTime", "fault": "HostCommunication"})
	var out map[string]int
	if code := control(t, http.MethodPost, "/bonneville/sessions/expire", nil, &out); code != http.StatusOK || out["expired"] < 1 {
		t.Fatalf("POST /bonneville/sessions/expire: status %d %v", code, out)
	}
	_, err := methods.GetCurrentTime(ctx, c.Client)
	wantFault(t, "a faulted call with an expired session", err, "NotAuthenticated")
	if s := getStats(t); s.Calls["CurrentTime"] != 1 || s.Injected["CurrentTime"] != 0 {
		t.Fatalf("want 1 CurrentTime call and 0 injected, got %d and %d", s.Calls["CurrentTime"], s.Injected["CurrentTime"])
	}

	if err := c.Login(ctx, url.UserPassword(testUser, testPassword)); err != nil {
		t.Fatalf("log in again: %v", err)
	}
	_, err = methods.GetCurrentTime(ctx, c.Client)
	wantFault(t, "the faulted call sent again after logging in", err, "HostCommunication")
	if s := getStats(t); s.Calls["CurrentTime"] != 2 || s.Injected["CurrentTime"] != 1 {
		t.Fatalf("want 2 CurrentTime calls and 1 injected, got %d and %d", s.Calls["CurrentTime"], s.Injected["CurrentTime"])
	}
}

func TestAFaultRuleCountCapsItsHitsAndRateZeroNeverHits(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	parent := newParent(t, c, inv, inv.hosts[0])
	resetStats(t)
	injectFault(t, faultRule{"method": "InstantClone_Task", "fault": "TaskInProgress", "count": 2})

	for i := 0; i < 3; i++ {
		_, err := instantClone(ctx, c, parent, imageSpec(uniqueName("capped")))
		if i < 2 {
			wantFault(t, fmt.Sprintf("call %d with count=2", i+1), err, "TaskInProgress")
		} else if err != nil {
			t.Fatalf("call 3 with count=2 must succeed: %v", err)
		}
	}
	if s := getStats(t); s.Injected["InstantClone_Task"] != 2 || s.Calls["InstantClone_Task"] != 3 {
		t.Fatalf("want 3 InstantClone_Task calls and 2 injected, got %d and %d", s.Calls["InstantClone_Task"], s.Injected["InstantClone_Task"])
	}

	clearFaults(t)
	injectFault(t, faultRule{"method": "InstantClone_Task", "fault": "TaskInProgress", "rate": 0})
	for i := 0; i < 3; i++ {
		if _, err := instantClone(ctx, c, parent, imageSpec(uniqueName("rate0"))); err != nil {
			t.Fatalf("rate 0 must never hit: %v", err)
		}
	}
}

func TestADropRuleClosesTheConnectionAndTheClientRecoversOnceCleared(t *testing.T) {
	c := login(t)
	ctx := testContext(t)
	injectFault(t, faultRule{"method": "CurrentTime", "drop": true})
	_, err := methods.GetCurrentTime(ctx, c.Client)
	if err == nil {
		t.Fatalf("a dropped call must fail")
	}
	if soap.IsSoapFault(err) || soap.IsVimFault(err) {
		t.Fatalf("a dropped call fails in transport, not with a fault: %v", err)
	}
	clearFaults(t)
	if _, err := methods.GetCurrentTime(ctx, c.Client); err != nil {
		t.Fatalf("after clearing the rule the same client must work: %v", err)
	}
}

func TestALatencyRuleDelaysEveryCall(t *testing.T) {
	c := login(t)
	ctx := testContext(t)
	injectFault(t, faultRule{"method": "CurrentTime", "latencyMs": 150})
	for i := 0; i < 2; i++ {
		start := time.Now()
		if _, err := methods.GetCurrentTime(ctx, c.Client); err != nil {
			t.Fatalf("CurrentTime: %v", err)
		}
		if took := time.Since(start); took < 150*time.Millisecond {
			t.Fatalf("call %d took %s, want at least 150ms", i+1, took)
		}
	}
}

func TestExpiringSessionsMakesTheNextCallFailWithNotAuthenticated(t *testing.T) {
	c := login(t)
	ctx := testContext(t)
	var out map[string]int
	if code := control(t, http.MethodPost, "/bonneville/sessions/expire", nil, &out); code != http.StatusOK || out["expired"] < 1 {
		t.Fatalf("POST /bonneville/sessions/expire: status %d %v", code, out)
	}
	if s := getStats(t); s.Sessions != 0 {
		t.Fatalf("want 0 sessions after expiry, got %d", s.Sessions)
	}
	_, err := methods.GetCurrentTime(ctx, c.Client)
	wantFault(t, "a call with an expired session", err, "NotAuthenticated")

	if err := c.Login(ctx, url.UserPassword(testUser, testPassword)); err != nil {
		t.Fatalf("log in again: %v", err)
	}
	if _, err := methods.GetCurrentTime(ctx, c.Client); err != nil {
		t.Fatalf("after logging in again: %v", err)
	}
}

func TestStatsCountCallsByMethod(t *testing.T) {
	c := login(t)
	ctx := testContext(t)
	resetStats(t)
	for i := 0; i < 3; i++ {
		if _, err := methods.GetCurrentTime(ctx, c.Client); err != nil {
			t.Fatalf("CurrentTime: %v", err)
		}
	}
	s := getStats(t)
	if s.Calls["CurrentTime"] != 3 {
		t.Fatalf("want 3 CurrentTime calls, got %d (%v)", s.Calls["CurrentTime"], s.Calls)
	}
	if len(s.Calls) != 1 {
		t.Fatalf("want only CurrentTime counted since the reset, got %v", s.Calls)
	}
	if s.Sessions < 1 {
		t.Fatalf("want at least this test's session counted, got %d", s.Sessions)
	}
}

func TestTheControlAPIRejectsBadRules(t *testing.T) {
	var out map[string]string
	if code := control(t, http.MethodPost, "/bonneville/faults", faultRule{"fault": "InvalidState"}, &out); code != http.StatusBadRequest {
		t.Fatalf("a rule without a method: want 400, got %d %v", code, out)
	}
	if code := control(t, http.MethodPost, "/bonneville/faults", faultRule{"method": "CurrentTime", "fault": "NoSuchFaultType"}, &out); code != http.StatusBadRequest {
		t.Fatalf("an unknown fault: want 400, got %d %v", code, out)
	}
	if code := control(t, http.MethodGet, "/bonneville/nothing", nil, &out); code != http.StatusNotFound {
		t.Fatalf("an unknown endpoint: want 404, got %d %v", code, out)
	}
}

func TestATaskDelayAnswersInstantCloneQueuedAndClonesLater(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	parent := newParent(t, c, inv, inv.hosts[0])
	injectFault(t, faultRule{"method": "InstantClone_Task", "taskDelayMs": 600})
	defer clearFaults(t)

	name := uniqueName("deferred")
	res, err := methods.InstantClone_Task(ctx, c.Client, &types.InstantClone_Task{This: parent, Spec: imageSpec(name)})
	if err != nil {
		t.Fatalf("InstantClone_Task with a task delay: %v", err)
	}
	var task mo.Task
	if err := property.DefaultCollector(c.Client).RetrieveOne(ctx, res.Returnval, []string{"info"}, &task); err != nil {
		t.Fatalf("read the task: %v", err)
	}
	if task.Info.State != types.TaskInfoStateQueued {
		t.Fatalf("the task must be answered queued, got %s", task.Info.State)
	}
	if desc := task.Info.DescriptionId; desc != "VirtualMachine.instantClone" || task.Info.Name != "InstantClone_Task" {
		t.Fatalf("want descriptionId VirtualMachine.instantClone and name InstantClone_Task, got %s and %s", desc, task.Info.Name)
	}
	us, err := c.SessionManager.UserSession(ctx)
	if err != nil || us == nil {
		t.Fatalf("read the user session: %v", err)
	}
	if reason, ok := task.Info.Reason.(*types.TaskReasonUser); !ok || reason.UserName != us.UserName {
		t.Fatalf("the task's reason must name the session's user %q, got %#v", us.UserName, task.Info.Reason)
	}
	var tm mo.TaskManager
	if err := property.DefaultCollector(c.Client).RetrieveOne(ctx, *c.ServiceContent.TaskManager, []string{"recentTask"}, &tm); err != nil {
		t.Fatalf("read recentTask: %v", err)
	}
	listed := false
	for _, r := range tm.RecentTask {
		listed = listed || r == res.Returnval
	}
	if !listed {
		t.Fatalf("the queued task must be in TaskManager.recentTask")
	}
	if ref, _ := object.NewSearchIndex(c.Client).FindChild(ctx, inv.vmFolder.Reference(), name); ref != nil {
		t.Fatalf("the clone must not exist before the delay, found %v", ref)
	}

	info, err := object.NewTask(c.Client, res.Returnval).WaitForResult(ctx, nil)
	if err != nil {
		t.Fatalf("the deferred clone must succeed: %v", err)
	}
	ref, ok := info.Result.(types.ManagedObjectReference)
	if !ok {
		t.Fatalf("task result is %T, not a moref", info.Result)
	}
	if found, _ := object.NewSearchIndex(c.Client).FindChild(ctx, inv.vmFolder.Reference(), name); found == nil || found.Reference() != ref {
		t.Fatalf("after the task the clone %s must be in the folder, found %v", ref, found)
	}
}

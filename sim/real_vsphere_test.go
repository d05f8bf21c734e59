// Tests of the behaviours of real vCenter, ESXi and VMware Tools that the
// simulator models (see /work/shared/REAL-VSPHERE.md and the sources cited in
// sim/overlay/bonneville_{freeze,chain,guestinfo,identity}.go): frozen
// sources, delta-disk chains, guestinfo volatility, and a fork's stale
// identity. Like sim_test.go they talk to the simulator over SOAP and its
// control API only.
package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// parentWith is a copy of the template on hosts[0] with extra config of its own.
func parentWith(t *testing.T, c *govmomi.Client, inv *inventory, powerOn bool, extra map[string]string) types.ManagedObjectReference {
	t.Helper()
	ctx := testContext(t)
	pool, host := inv.pool.Reference(), inv.hosts[0]
	var opts []types.BaseOptionValue
	for k, v := range extra {
		opts = append(opts, &types.OptionValue{Key: k, Value: v})
	}
	tmpl := object.NewVirtualMachine(c.Client, inv.template.Self)
	task, err := tmpl.Clone(ctx, inv.vmFolder, uniqueName("parent"), types.VirtualMachineCloneSpec{
		Location: types.VirtualMachineRelocateSpec{Pool: &pool, Host: &host},
		Config:   &types.VirtualMachineConfigSpec{ExtraConfig: opts},
		PowerOn:  powerOn,
	})
	if err != nil {
		t.Fatalf("CloneVM_Task: %v", err)
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		t.Fatalf("CloneVM_Task: %v", err)
	}
	return info.Result.(types.ManagedObjectReference)
}

// guestRPC runs a command in the VM's guest through the control API.
func guestRPC(t *testing.T, vm types.ManagedObjectReference, command string) (bool, string) {
	t.Helper()
	var out struct {
		OK    bool   `json:"ok"`
		Reply string `json:"reply"`
	}
	if code := control(t, http.MethodPost, "/bonneville/guest/rpc", map[string]string{"vm": vm.Value, "command": command}, &out); code != http.StatusOK {
		t.Fatalf("guest RPC %q in %s: status %d", command, vm.Value, code)
	}
	return out.OK, out.Reply
}

func power(t *testing.T, c *govmomi.Client, ref types.ManagedObjectReference, on bool) {
	t.Helper()
	ctx := testContext(t)
	vm := object.NewVirtualMachine(c.Client, ref)
	var task *object.Task
	var err error
	if on {
		task, err = vm.PowerOn(ctx)
	} else {
		task, err = vm.PowerOff(ctx)
	}
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatalf("power %v %s: %v", on, ref, err)
	}
}

func isFrozen(vm mo.VirtualMachine) bool {
	return vm.Runtime.InstantCloneFrozen != nil && *vm.Runtime.InstantCloneFrozen
}

// diskChain reads the first disk's chain both ways vSphere shows it: the
// backing's parents (file names, top first) and layoutEx.disk[0].chain's length.
func diskChain(t *testing.T, c *govmomi.Client, ref types.ManagedObjectReference) ([]string, int) {
	t.Helper()
	var vm mo.VirtualMachine
	if err := property.DefaultCollector(c.Client).RetrieveOne(testContext(t), ref, []string{"config.hardware.device", "layoutEx"}, &vm); err != nil {
		t.Fatalf("retrieve %s: %v", ref, err)
	}
	disks := object.VirtualDeviceList(vm.Config.Hardware.Device).SelectByType((*types.VirtualDisk)(nil))
	if len(disks) == 0 {
		t.Fatalf("%s has no disk", ref)
	}
	var files []string
	for b := disks[0].GetVirtualDevice().Backing.(*types.VirtualDiskFlatVer2BackingInfo); b != nil; b = b.Parent {
		files = append(files, b.FileName)
	}
	units := -1
	if vm.LayoutEx != nil {
		for _, d := range vm.LayoutEx.Disk {
			if d.Key == disks[0].GetVirtualDevice().Key {
				units = len(d.Chain)
			}
		}
	}
	return files, units
}

func waitFrozenAndReady(t *testing.T, c *govmomi.Client, ref types.ManagedObjectReference) mo.VirtualMachine {
	t.Helper()
	var vm mo.VirtualMachine
	eventually(t, 10*time.Second, "the parent to signal ready and freeze", func() bool {
		vm = getVM(t, c, ref)
		v, _ := options(vm)
		return v["guestinfo.bonneville.ready"] == "true" && isFrozen(vm)
	})
	return vm
}

// ---------------------------------------------------------------------------
// Frozen sources.

func TestAParentAgentWithFreezeTrueFreezesItsVMAndItsClonesDoNotDeepenItsChain(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	parent := parentWith(t, c, inv, true, map[string]string{"guestinfo.bonneville.freeze": "true"})
	pvm := waitFrozenAndReady(t, c, parent)
	if v, _ := options(pvm); v["guestinfo.bonneville.frozen"] != "true" {
		t.Fatalf("want the agent to note guestinfo.bonneville.frozen=true, got %v", v)
	}
	if pvm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
		t.Fatalf("a frozen VM still shows poweredOn, got %s", pvm.Runtime.PowerState)
	}
	before, units := diskChain(t, c, parent)
	if len(before) != 1 || units != 1 {
		t.Fatalf("want a fresh parent on its base disk only, got chain %v (layoutEx %d units)", before, units)
	}

	for i := 0; i < 3; i++ {
		name := uniqueName("of-frozen")
		child, err := instantClone(ctx, c, parent, imageSpec(name, &types.OptionValue{Key: "guestinfo.bonneville.name", Value: name}))
		if err != nil {
			t.Fatalf("instant clone %d of a frozen parent: %v", i, err)
		}
		files, units := diskChain(t, c, child)
		if len(files) != 2 || files[1] != before[0] || units != 2 {
			t.Fatalf("want clone %d on one delta over the parent's disk %s, got %v (layoutEx %d units)", i, before[0], files, units)
		}
		// The freeze call returned in the child: its agent does the fork's work.
		eventually(t, 5*time.Second, "the child's agent to report", func() bool {
			v, _ := options(getVM(t, c, child))
			return v["guestinfo.bonneville.status"] == "running" && v["guestinfo.bonneville.ipGeneration"] == "1"
		})
		if cvm := getVM(t, c, child); isFrozen(cvm) {
			t.Fatalf("a clone of a frozen parent must run, not be frozen")
		}
	}
	after, units := diskChain(t, c, parent)
	if len(after) != 1 || after[0] != before[0] || units != 1 {
		t.Fatalf("clones of a frozen parent must not deepen its chain: before %v, after %v (%d units)", before, after, units)
	}
	if ok, reply := guestRPC(t, parent, "info-set guestinfo.test.x 1"); ok {
		t.Fatalf("a frozen VM's guest does not run: info-set must fail, got ok %q", reply)
	}
}

func TestAFrozenVMCanBeReconfiguredAndPoweredOffWhichEndsTheFreeze(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	parent := parentWith(t, c, inv, true, map[string]string{"guestinfo.bonneville.freeze": "true"})
	waitFrozenAndReady(t, c, parent)
	child, err := instantClone(ctx, c, parent, imageSpec(uniqueName("child")))
	if err != nil {
		t.Fatalf("instant clone: %v", err)
	}

	vm := object.NewVirtualMachine(c.Client, parent)
	task, err := vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: "bonneville.test", Value: "x"}}})
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatalf("ReconfigVM_Task of a frozen VM: %v", err)
	}
	power(t, c, parent, false)
	if pvm := getVM(t, c, parent); isFrozen(pvm) {
		t.Fatalf("a powered-off VM is not frozen")
	}
	if cvm := getVM(t, c, child); cvm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
		t.Fatalf("the child must keep running when its frozen parent powers off, got %s", cvm.Runtime.PowerState)
	}
	if _, err := instantClone(ctx, c, parent, imageSpec(uniqueName("late"))); faultName(err) != "InvalidState" {
		t.Fatalf("want InvalidState cloning a powered-off parent, got %v", err)
	}
}

func TestTheFreezeRPCFreezesAnyRunningVMAndFailsOnAPoweredOffOne(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	off := parentWith(t, c, inv, false, nil)
	if ok, reply := guestRPC(t, off, "instantclone.freeze"); ok {
		t.Fatalf("freeze in a powered-off VM must fail, got ok %q", reply)
	}
	on := parentWith(t, c, inv, true, nil)
	if ok, reply := guestRPC(t, on, "instantclone.freeze"); !ok {
		t.Fatalf("freeze: %s", reply)
	}
	if !isFrozen(getVM(t, c, on)) {
		t.Fatalf("want runtime.instantCloneFrozen=true after the guest's freeze")
	}
}

// ---------------------------------------------------------------------------
// Clone chains.

func TestEachCloneOfARunningSourceDeepensTheSourceAndTheChild(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	parent := parentWith(t, c, inv, true, nil)
	base, _ := diskChain(t, c, parent)
	for i := 1; i <= 3; i++ {
		child, err := instantClone(ctx, c, parent, imageSpec(uniqueName("of-running")))
		if err != nil {
			t.Fatalf("clone %d: %v", i, err)
		}
		pfiles, punits := diskChain(t, c, parent)
		cfiles, cunits := diskChain(t, c, child)
		if len(pfiles) != i+1 || punits != i+1 || pfiles[len(pfiles)-1] != base[0] {
			t.Fatalf("after clone %d want the parent %d deltas over %s, got %v (layoutEx %d units)", i, i, base[0], pfiles, punits)
		}
		if len(cfiles) != i+1 || cunits != i+1 || cfiles[1] != pfiles[1] {
			t.Fatalf("want clone %d on a delta over the parent's chain at the clone %v, got %v (layoutEx %d units)", i, pfiles[1:], cfiles, cunits)
		}
	}
}

func TestPast100RedoLevelsVSphereWarnsAndAt255TheCloneFailsWithSystemError(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	parent := parentWith(t, c, inv, true, nil)
	var made []types.ManagedObjectReference
	var mu sync.Mutex
	t.Cleanup(func() {
		for _, ref := range made {
			vm := object.NewVirtualMachine(c.Client, ref)
			if task, err := vm.PowerOff(context.Background()); err == nil {
				_ = task.Wait(context.Background())
			}
			if task, err := vm.Destroy(context.Background()); err == nil {
				_ = task.Wait(context.Background())
			}
		}
	})
	for i := 1; i <= 255; i++ {
		ref, err := instantClone(ctx, c, parent, types.VirtualMachineInstantCloneSpec{Name: uniqueName("deep")})
		if err != nil {
			t.Fatalf("clone %d of 255: %v", i, err)
		}
		mu.Lock()
		made = append(made, ref)
		mu.Unlock()
		// The warning: on the parent once its chain passed 100 (read at once:
		// the event history is a ring of 1,000), on each child born past 100.
		switch i {
		case 100, 101, 102:
			want := 0
			if i > 100 {
				want = 1
			}
			if got := redoWarnings(ctx, t, c, parent); got != want {
				t.Fatalf("after clone %d want %d redo-log warning(s) on the parent, got %d", i, want, got)
			}
			if got := redoWarnings(ctx, t, c, ref); got != want {
				t.Fatalf("want %d redo-log warning(s) on clone %d, got %d", want, i, got)
			}
		}
	}
	files, units := diskChain(t, c, parent)
	if len(files)-1 != 255 || units != 256 {
		t.Fatalf("want 255 redo levels on the parent, got %d (layoutEx %d units)", len(files)-1, units)
	}
	name := uniqueName("too-deep")
	_, err := instantClone(ctx, c, parent, types.VirtualMachineInstantCloneSpec{Name: name})
	wantFault(t, "clone 256", err, "SystemError")
	var te task.Error
	if !errors.As(err, &te) {
		t.Fatalf("want a task fault, got %T", err)
	}
	se, ok := te.Fault().(*types.SystemError)
	if !ok {
		t.Fatalf("want *types.SystemError, got %T", te.Fault())
	}
	if _, cause := se.FaultCause.Fault.(*types.GenericVmConfigFault); se.Reason != "Unable to prepare migration." || !cause {
		t.Fatalf("want SystemError \"Unable to prepare migration.\" caused by GenericVmConfigFault, got %+v", se)
	}
	if n := childNames(t, c, inv.vmFolder.Reference())[name]; n != 0 {
		t.Fatalf("a failed clone must leave no VM, found %d named %s", n, name)
	}
	if files2, _ := diskChain(t, c, parent); len(files2) != len(files) {
		t.Fatalf("a failed clone must not deepen the parent: %d levels, then %d", len(files)-1, len(files2)-1)
	}

}

// ---------------------------------------------------------------------------
// guestinfo volatility.

func TestAtPowerOffGuestCreatedKeysAndRunningAPIChangesAreLostAndPowerOnKeysKeepTheGuestsValue(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	ref := parentWith(t, c, inv, false, map[string]string{
		"guestinfo.test.pre":    "<nil>",
		"guestinfo.test.preapi": "a",
		"guestinfo.test.gone":   "b",
	})
	power(t, c, ref, true)
	for _, cmd := range []string{"info-set guestinfo.test.pre v1", "info-set guestinfo.test.new v2"} {
		if ok, reply := guestRPC(t, ref, cmd); !ok {
			t.Fatalf("%s: %s", cmd, reply)
		}
	}
	vm := object.NewVirtualMachine(c.Client, ref)
	task, err := vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{ExtraConfig: []types.BaseOptionValue{
		&types.OptionValue{Key: "guestinfo.test.api", Value: "x"},
		&types.OptionValue{Key: "guestinfo.test.preapi", Value: "changed"},
		&types.OptionValue{Key: "guestinfo.test.gone", Value: ""},
		&types.OptionValue{Key: "bonneville.test.outside", Value: "kept"},
	}})
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatalf("ReconfigVM_Task: %v", err)
	}
	running, _ := options(getVM(t, c, ref))
	if running["guestinfo.test.new"] != "v2" || running["guestinfo.test.api"] != "x" || running["guestinfo.test.preapi"] != "changed" {
		t.Fatalf("while running, every change shows: %v", running)
	}

	power(t, c, ref, false)
	off, _ := options(getVM(t, c, ref))
	want := map[string]string{
		"guestinfo.test.pre":      "v1",   // present at power-on, set by the guest: kept
		"guestinfo.test.preapi":   "a",    // changed by the API while running: power-on value
		"guestinfo.test.gone":     "b",    // removed by the API while running: back
		"bonneville.test.outside": "kept", // not guestinfo: kept
	}
	for k, v := range want {
		if off[k] != v {
			t.Fatalf("after power-off want %s=%q, got %q (all: %v)", k, v, off[k], off)
		}
	}
	for _, k := range []string{"guestinfo.test.new", "guestinfo.test.api"} {
		if v, ok := off[k]; ok {
			t.Fatalf("%s was created while running and must be gone after power-off, still %q", k, v)
		}
	}
}

func TestAGuestCannotSetAnEmptyValueNorANonGuestinfoKeyNorMoreThanOneMessage(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ref := parentWith(t, c, inv, true, nil)
	if ok, reply := guestRPC(t, ref, "info-set guestinfo.test.empty "); ok || reply != "Invalid value" {
		t.Fatalf("want an empty value refused with \"Invalid value\", got ok=%v %q", ok, reply)
	}
	if ok, _ := guestRPC(t, ref, "info-set bonneville.labels x"); ok {
		t.Fatalf("a guest must not set keys outside guestinfo.")
	}
	values, _ := options(getVM(t, c, ref))
	if _, ok := values["guestinfo.test.empty"]; ok {
		t.Fatalf("a refused info-set must not create the key")
	}
	if ok, reply := guestRPC(t, ref, "info-set guestinfo.test.big "+strings.Repeat("x", 64*1024)); ok || reply != "Message too long" {
		t.Fatalf("one guest message carries at most 64 KiB: want \"Message too long\", got ok=%v %q", ok, reply)
	}
	if ok, reply := guestRPC(t, ref, "info-set guestinfo.test.v <nil>"); !ok {
		t.Fatalf("the sentinel is an ordinary value: %s", reply)
	}
	if ok, reply := guestRPC(t, ref, "info-get guestinfo.test.v"); !ok || reply != "<nil>" {
		t.Fatalf("info-get: ok=%v %q", ok, reply)
	}
}

// ---------------------------------------------------------------------------
// A fork's stale identity.

func TestAForkShowsItsParentsAddressUntilToolsPollsAfterTheAgentResetTheNetwork(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	parent := parentWith(t, c, inv, true, map[string]string{"guestinfo.bonneville.freeze": "true"})
	pvm := waitFrozenAndReady(t, c, parent)
	pip, phost, pmac := pvm.Guest.IpAddress, pvm.Guest.HostName, pvm.Guest.Net[0].MacAddress
	if pip == "" || phost == "" {
		t.Fatalf("want the parent's guest IP and host name reported, got %q %q", pip, phost)
	}

	name := uniqueName("fork")
	child, err := instantClone(ctx, c, parent, imageSpec(name, &types.OptionValue{Key: "guestinfo.bonneville.name", Value: name}))
	if err != nil {
		t.Fatalf("instant clone: %v", err)
	}
	fresh := getVM(t, c, child)
	ownMAC := nics(fresh)[0].(types.BaseVirtualEthernetCard).GetVirtualEthernetCard().MacAddress
	if fresh.Guest.IpAddress != pip || fresh.Guest.HostName != phost || fresh.Guest.Net[0].MacAddress != pmac {
		t.Fatalf("a fresh fork shows its parent's identity (%s %s %s), got %s %s %s",
			pip, phost, pmac, fresh.Guest.IpAddress, fresh.Guest.HostName, fresh.Guest.Net[0].MacAddress)
	}

	var own string
	eventually(t, 5*time.Second, "the fork's agent to publish its own address", func() bool {
		v, _ := options(getVM(t, c, child))
		own = v["guestinfo.bonneville.ipAddress"]
		return v["guestinfo.bonneville.ipGeneration"] == "1" && v["guestinfo.bonneville.status"] == "running"
	})
	if own == "" || own == pip {
		t.Fatalf("want the fork's own address in guestinfo.bonneville.ipAddress, got %q (parent %s)", own, pip)
	}
	eventually(t, 5*testToolsRefresh, "Tools to report the fork's own identity", func() bool {
		g := getVM(t, c, child).Guest
		return g.IpAddress == own && g.HostName == name && g.Net[0].MacAddress == ownMAC
	})
}

func TestAForkWhoseGuestDoesNotResetItsNetworkKeepsItsParentsAddress(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	// Agent version 1 does not reset the network.
	parent := parentWith(t, c, inv, true, map[string]string{"guestinfo.bonneville.agentVersion": "1"})
	var pip string
	eventually(t, 10*time.Second, "the parent to be ready", func() bool {
		vm := getVM(t, c, parent)
		v, _ := options(vm)
		pip = vm.Guest.IpAddress
		return v["guestinfo.bonneville.ready"] == "true"
	})
	child, err := instantClone(ctx, c, parent, imageSpec(uniqueName("stale")))
	if err != nil {
		t.Fatalf("instant clone: %v", err)
	}
	eventually(t, 5*time.Second, "the v1 agent to report", func() bool {
		v, _ := options(getVM(t, c, child))
		return v["guestinfo.bonneville.status"] == "running"
	})
	time.Sleep(2 * testToolsRefresh) // past Tools' next poll
	vm := getVM(t, c, child)
	v, _ := options(vm)
	if vm.Guest.IpAddress != pip {
		t.Fatalf("a fork that kept its network keeps its parent's address %s, got %s", pip, vm.Guest.IpAddress)
	}
	if ip, ok := v["guestinfo.bonneville.ipAddress"]; ok {
		t.Fatalf("a v1 agent publishes no address, got %q", ip)
	}
}

func TestAPowerCycledContainerKeepsItsReportedKeysAndItsAddress(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	parent := parentWith(t, c, inv, true, map[string]string{"guestinfo.bonneville.freeze": "true"})
	waitFrozenAndReady(t, c, parent)
	pre := []types.BaseOptionValue{}
	for _, k := range []string{"status", "statusGeneration", "exitCode", "error", "ipAddress", "ipGeneration"} {
		pre = append(pre, &types.OptionValue{Key: "guestinfo.bonneville." + k, Value: "<nil>"})
	}
	child, err := instantClone(ctx, c, parent, imageSpec(uniqueName("cycled"), pre...))
	if err != nil {
		t.Fatalf("instant clone: %v", err)
	}
	var before map[string]string
	eventually(t, 5*time.Second, "the agent to report", func() bool {
		before, _ = options(getVM(t, c, child))
		return before["guestinfo.bonneville.status"] == "running"
	})
	power(t, c, child, false)
	off, _ := options(getVM(t, c, child))
	for _, k := range []string{"status", "statusGeneration", "ipAddress", "ipGeneration"} {
		key := "guestinfo.bonneville." + k
		if off[key] != before[key] {
			t.Fatalf("pre-created %s must keep the guest's value %q after power-off, got %q", key, before[key], off[key])
		}
	}
	power(t, c, child, true)
	eventually(t, 5*time.Second, "the agent to report again with the same address", func() bool {
		v, _ := options(getVM(t, c, child))
		return v["guestinfo.bonneville.status"] == "running" && v["guestinfo.bonneville.ipAddress"] == before["guestinfo.bonneville.ipAddress"]
	})
}

// redoWarnings counts the "more than 100 redo logs" warnings posted on a VM.
func redoWarnings(ctx context.Context, t *testing.T, c *govmomi.Client, vm types.ManagedObjectReference) int {
	t.Helper()
	events, err := event.NewManager(c.Client).QueryEvents(ctx, types.EventFilterSpec{
		Entity:      &types.EventFilterSpecByEntity{Entity: vm, Recursion: types.EventFilterSpecRecursionOptionSelf},
		EventTypeId: []string{"VmMessageWarningEvent"},
	})
	if err != nil {
		t.Fatalf("QueryEvents: %v", err)
	}
	n := 0
	for _, e := range events {
		if w, ok := e.(*types.VmMessageWarningEvent); ok && w.Vm != nil && w.Vm.Vm == vm && strings.Contains(w.Message, "more than 100 redo logs") {
			n++
		}
	}
	return n
}

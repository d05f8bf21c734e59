// Tests of the embedded vSphere's vCenter rules (overlay/bonneville_vcenter.go):
// where an instant clone lands, MoveIntoResourcePool, NIC edits that must carry
// the whole device, the HostAgent and pre-6.7 modes, and a user missing one
// privilege. Run them with sim/test.
package main

import (
	"io/ioutil"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// setModes sets the simulator's modes for one test and restores the defaults after it.
func setModes(t *testing.T, modes map[string]interface{}) {
	t.Helper()
	var out map[string]interface{}
	if code := control(t, http.MethodPost, "/bonneville/modes", modes, &out); code != http.StatusOK {
		t.Fatalf("POST /bonneville/modes %v: status %d %v", modes, code, out)
	}
	t.Cleanup(func() {
		if code := control(t, http.MethodDelete, "/bonneville/modes", nil, nil); code != http.StatusOK {
			t.Errorf("DELETE /bonneville/modes: status %d", code)
		}
	})
}

// soapFault is the vim fault (a value, e.g. types.NoPermission) of a failed call, or nil.
func soapFault(err error) interface{} {
	if err != nil && soap.IsSoapFault(err) {
		return soap.ToSoapFault(err).VimFault()
	}
	return nil
}

func TestAnInstantCloneWithoutAFolderLandsInTheDatacentersRootVMFolder(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	parentRef := newParent(t, c, inv, inv.hosts[0])
	folder, err := inv.vmFolder.CreateFolder(ctx, uniqueName("parents"))
	if err != nil {
		t.Fatalf("CreateFolder: %v", err)
	}
	if task, err := folder.MoveInto(ctx, []types.ManagedObjectReference{parentRef}); err != nil {
		t.Fatalf("MoveIntoFolder_Task: %v", err)
	} else if err := task.Wait(ctx); err != nil {
		t.Fatalf("MoveIntoFolder_Task: %v", err)
	}

	ref, err := instantClone(ctx, c, parentRef, imageSpec(uniqueName("nofolder")))
	if err != nil {
		t.Fatalf("InstantClone_Task: %v", err)
	}
	if got := *getVM(t, c, ref).Parent; got != inv.dc.VmFolder {
		t.Fatalf("want the clone in the datacenter's VM folder %s (not the source's %s), got %s", inv.dc.VmFolder, folder.Reference(), got)
	}
}

func TestInTheIgnoreLocationModeAnInstantCloneStaysOutOfTheAskedFolderAndPoolAndCanBeMovedThere(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	parentRef := newParent(t, c, inv, inv.hosts[0])
	folder, err := inv.vmFolder.CreateFolder(ctx, uniqueName("asked"))
	if err != nil {
		t.Fatalf("CreateFolder: %v", err)
	}
	pool, err := inv.pool.Create(ctx, uniqueName("asked"), types.DefaultResourceConfigSpec())
	if err != nil {
		t.Fatalf("CreateResourcePool: %v", err)
	}
	folderRef, poolRef := folder.Reference(), pool.Reference()
	setModes(t, map[string]interface{}{"ignoreLocation": true})

	spec := imageSpec(uniqueName("ignored"))
	spec.Location = types.VirtualMachineRelocateSpec{Folder: &folderRef, Pool: &poolRef}
	ref, err := instantClone(ctx, c, parentRef, spec)
	if err != nil {
		t.Fatalf("InstantClone_Task: %v", err)
	}
	clone, parent := getVM(t, c, ref), getVM(t, c, parentRef)
	if *clone.Parent != inv.dc.VmFolder || *clone.ResourcePool != *parent.ResourcePool {
		t.Fatalf("want the location ignored (folder %s, pool %s), got folder %s, pool %s",
			inv.dc.VmFolder, parent.ResourcePool, clone.Parent, clone.ResourcePool)
	}

	if task, err := folder.MoveInto(ctx, []types.ManagedObjectReference{ref}); err != nil {
		t.Fatalf("MoveIntoFolder_Task: %v", err)
	} else if err := task.Wait(ctx); err != nil {
		t.Fatalf("MoveIntoFolder_Task: %v", err)
	}
	if _, err := methods.MoveIntoResourcePool(ctx, c.Client, &types.MoveIntoResourcePool{This: poolRef, List: []types.ManagedObjectReference{ref}}); err != nil {
		t.Fatalf("MoveIntoResourcePool: %v", err)
	}
	clone = getVM(t, c, ref)
	if *clone.Parent != folderRef || *clone.ResourcePool != poolRef {
		t.Fatalf("want the clone moved to folder %s and pool %s, got %s and %s", folderRef, poolRef, clone.Parent, clone.ResourcePool)
	}
	var p mo.ResourcePool
	if err := object.NewResourcePool(c.Client, poolRef).Properties(ctx, poolRef, []string{"vm"}, &p); err != nil {
		t.Fatalf("read pool: %v", err)
	}
	if !reflect.DeepEqual(p.Vm, []types.ManagedObjectReference{ref}) {
		t.Fatalf("want the pool's vm list to be [%s], got %v", ref, p.Vm)
	}
}

func TestAnInstantCloneNICEditWithoutTheWholeDeviceFailsWithInvalidDeviceSpec(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	parentRef := newParent(t, c, inv, inv.hosts[0])
	nic := nics(getVM(t, c, parentRef))[0]
	pg1 := inv.portGroup["DC0_DVPG1"]
	backing := &types.VirtualEthernetCardDistributedVirtualPortBackingInfo{
		Port: types.DistributedVirtualSwitchPortConnection{SwitchUuid: inv.dvs.Uuid, PortgroupKey: pg1.Key},
	}
	// Only the key, the backing and the connection: what a client that does not read the device sends.
	partial := &types.VirtualVmxnet3{VirtualVmxnet: types.VirtualVmxnet{VirtualEthernetCard: types.VirtualEthernetCard{
		VirtualDevice: types.VirtualDevice{
			Key:         nic.GetVirtualDevice().Key,
			Backing:     backing,
			Connectable: &types.VirtualDeviceConnectInfo{StartConnected: true, Connected: true, AllowGuestControl: true},
		},
	}}}
	name := uniqueName("partial")
	spec := imageSpec(name)
	spec.Location.DeviceChange = []types.BaseVirtualDeviceConfigSpec{&types.VirtualDeviceConfigSpec{
		Operation: types.VirtualDeviceConfigSpecOperationEdit,
		Device:    partial,
	}}
	_, err := instantClone(ctx, c, parentRef, spec)
	wantFault(t, "a NIC edit with only key and backing", err, "InvalidDeviceSpec")
	if n := childNames(t, c, inv.vmFolder.Reference())[name]; n != 0 {
		t.Fatalf("a refused clone must leave no VM behind, found %d", n)
	}
}

func TestAsAHostAgentTheServerSaysSoAndHasNoInstantClone(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	parentRef := newParent(t, c, inv, inv.hosts[0])
	setModes(t, map[string]interface{}{"apiType": "HostAgent"})

	res, err := methods.RetrieveServiceContent(ctx, c.Client, &types.RetrieveServiceContent{
		This: types.ManagedObjectReference{Type: "ServiceInstance", Value: "ServiceInstance"},
	})
	if err != nil {
		t.Fatalf("RetrieveServiceContent: %v", err)
	}
	if res.Returnval.About.ApiType != "HostAgent" {
		t.Fatalf("want about.apiType HostAgent, got %q", res.Returnval.About.ApiType)
	}
	_, err = methods.InstantClone_Task(ctx, c.Client, &types.InstantClone_Task{This: parentRef, Spec: imageSpec(uniqueName("esx"))})
	if f, ok := soapFault(err).(types.MethodNotFound); !ok || f.Method != "InstantClone_Task" || f.Receiver != parentRef {
		t.Fatalf("want MethodNotFound for InstantClone_Task on %s, got %v", parentRef, err)
	}
}

func TestAVCenterBefore67HasNoInstantCloneTask(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	parentRef := newParent(t, c, inv, inv.hosts[0])
	setModes(t, map[string]interface{}{"instantClone": "absent"})

	res, err := methods.RetrieveServiceContent(ctx, c.Client, &types.RetrieveServiceContent{
		This: types.ManagedObjectReference{Type: "ServiceInstance", Value: "ServiceInstance"},
	})
	if err != nil || res.Returnval.About.ApiType != "VirtualCenter" || res.Returnval.About.ApiVersion != "6.5" {
		t.Fatalf("want a vCenter of API 6.5, got %+v (%v)", res, err)
	}
	_, err = methods.InstantClone_Task(ctx, c.Client, &types.InstantClone_Task{This: parentRef, Spec: imageSpec(uniqueName("old"))})
	if f, ok := soapFault(err).(types.MethodNotFound); !ok || f.Method != "InstantClone_Task" {
		t.Fatalf("want MethodNotFound for InstantClone_Task, got %v", err)
	}
}

func TestAUserMissingOnePrivilegeGetsNoPermissionNamingItAndTheObject(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	parentRef := newParent(t, c, inv, inv.hosts[0])
	folder, err := inv.vmFolder.CreateFolder(ctx, uniqueName("containers"))
	if err != nil {
		t.Fatalf("CreateFolder: %v", err)
	}
	folderRef := folder.Reference()
	setModes(t, map[string]interface{}{"missingPrivilege": "VirtualMachine.Inventory.CreateFromExisting"})

	spec := imageSpec(uniqueName("denied"))
	spec.Location.Folder = &folderRef
	_, err = methods.InstantClone_Task(ctx, c.Client, &types.InstantClone_Task{This: parentRef, Spec: spec})
	f, ok := soapFault(err).(types.NoPermission)
	if !ok || f.PrivilegeId != "VirtualMachine.Inventory.CreateFromExisting" || f.Object != folderRef {
		t.Fatalf("want NoPermission for VirtualMachine.Inventory.CreateFromExisting on %s, got %v (%+v)", folderRef, err, f)
	}

	// Calls that do not need the privilege still work.
	if _, err := methods.PowerOffVM_Task(ctx, c.Client, &types.PowerOffVM_Task{This: parentRef}); err != nil {
		t.Fatalf("PowerOffVM_Task needs no CreateFromExisting: %v", err)
	}
}

func TestTheModesControlRejectsUnknownValues(t *testing.T) {
	for _, modes := range []map[string]interface{}{
		{"apiType": "Workstation"},
		{"instantClone": "maybe"},
		{"missingPrivilege": "Nothing.Such"},
	} {
		if code := control(t, http.MethodPost, "/bonneville/modes", modes, nil); code != http.StatusBadRequest {
			t.Fatalf("POST /bonneville/modes %v: want 400, got %d", modes, code)
		}
	}
}

func TestARequestHoldingAControlCharacterFailsWithInvalidRequest(t *testing.T) {
	c := login(t)
	ctx := testContext(t)
	for _, name := range []string{"bad\x01name", "bad&#1;name", "bad&#x1F;name"} {
		// The raw body: govmomi's encoder would escape or refuse these itself.
		body := `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>` +
			`<CreateFolder xmlns="urn:vim25"><_this type="Folder">` + c.ServiceContent.RootFolder.Value + `</_this><name>` + name + `</name></CreateFolder></soapenv:Body></soapenv:Envelope>`
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, sim.URL.String(), strings.NewReader(body))
		req.Header.Set("Content-Type", "text/xml")
		for _, cookie := range c.Client.Jar.Cookies(sim.URL) {
			req.AddCookie(cookie)
		}
		res, err := controlClient.Do(req)
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		out, _ := ioutil.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusInternalServerError || !strings.Contains(string(out), "InvalidRequest") {
			t.Fatalf("%q: want a SOAP fault InvalidRequest, got %d %s", name, res.StatusCode, out)
		}
	}
}

// vCenter as its API reference documents it, where the provider must not rely
// on the simulator's kindness: the kind of server (vCenter or an ESXi host),
// InstantClone_Task only from vSphere API 6.7, the placement of an instant
// clone, MoveIntoResourcePool, NIC edits that carry the whole device, and
// NoPermission for a user whose role lacks a privilege. Modes that differ from
// the default are chosen with environment variables at start:
//
//	BONNEVILLE_SIM_API_TYPE=HostAgent        answer as an ESXi host
//	BONNEVILLE_SIM_INSTANT_CLONE=absent      answer as a server before vSphere API 6.7
//	BONNEVILLE_SIM_IGNORE_LOCATION=1         instant clones ignore location.folder/pool/datastore
//	BONNEVILLE_SIM_MISSING_PRIVILEGE=<id>    the user's role lacks this privilege
//
// or at run time with POST /bonneville/modes {"apiType", "instantClone",
// "ignoreLocation", "missingPrivilege"} (DELETE restores the defaults).
//
// This file is compiled into the simulator package with `go build -overlay`.

package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync"

	"github.com/vmware/govmomi/simulator/esx"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// bonnevilleModes are the server's deviations from a current vCenter; the JSON
// form is what POST /bonneville/modes takes (DELETE restores the defaults).
type bonnevilleModes struct {
	// APIType is "VirtualCenter" (default) or "HostAgent".
	APIType string `json:"apiType,omitempty"`
	// InstantClone is "present" (default) or "absent".
	InstantClone     string `json:"instantClone,omitempty"`
	IgnoreLocation   bool   `json:"ignoreLocation,omitempty"`
	MissingPrivilege string `json:"missingPrivilege,omitempty"`
}

func (m bonnevilleModes) hostAgent() bool      { return m.APIType == "HostAgent" }
func (m bonnevilleModes) noInstantClone() bool { return m.InstantClone == "absent" }

var (
	bonnevilleModeMu sync.RWMutex
	bonnevilleMode   bonnevilleModes
	// bonnevilleAbout is the service content's own AboutInfo, restored when a mode ends.
	bonnevilleAbout *types.AboutInfo
)

// bonnevilleModesNow is the modes in force.
func bonnevilleModesNow() bonnevilleModes {
	bonnevilleModeMu.RLock()
	defer bonnevilleModeMu.RUnlock()
	return bonnevilleMode
}

// ApplyBonnevilleModes sets the modes the environment asks for (call it once
// the inventory is seeded). A value it does not know stops the simulator with
// one line naming the variable.
func ApplyBonnevilleModes() {
	err := bonnevilleSetModes(bonnevilleModes{
		APIType:          os.Getenv("BONNEVILLE_SIM_API_TYPE"),
		InstantClone:     os.Getenv("BONNEVILLE_SIM_INSTANT_CLONE"),
		IgnoreLocation:   os.Getenv("BONNEVILLE_SIM_IGNORE_LOCATION") == "1",
		MissingPrivilege: os.Getenv("BONNEVILLE_SIM_MISSING_PRIVILEGE"),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "bonneville-sim: %v\n", err)
		os.Exit(2)
	}
}

// bonnevilleSetModes checks and applies m, including the service content's about.
func bonnevilleSetModes(m bonnevilleModes) error {
	switch m.APIType {
	case "", "VirtualCenter", "HostAgent":
	default:
		return fmt.Errorf("BONNEVILLE_SIM_API_TYPE (apiType) must be VirtualCenter or HostAgent, not %q", m.APIType)
	}
	switch m.InstantClone {
	case "", "present", "absent":
	default:
		return fmt.Errorf("BONNEVILLE_SIM_INSTANT_CLONE (instantClone) must be present or absent, not %q", m.InstantClone)
	}
	if m.MissingPrivilege != "" && !bonnevilleKnownPrivilege(m.MissingPrivilege) {
		return fmt.Errorf("BONNEVILLE_SIM_MISSING_PRIVILEGE (missingPrivilege) names no privilege the simulator checks: %q", m.MissingPrivilege)
	}
	bonnevilleModeMu.Lock()
	defer bonnevilleModeMu.Unlock()
	bonnevilleMode = m
	si := Map.Get(serviceInstanceRef).(*ServiceInstance)
	if bonnevilleAbout == nil {
		Map.WithLock(si, func() {
			about := si.Content.About
			bonnevilleAbout = &about
		})
	}
	about := *bonnevilleAbout
	if m.hostAgent() {
		// ServiceContent.about of an ESXi host: apiType "HostAgent" (API reference, AboutInfo.apiType:
		// "HostAgent" for an ESX host, "VirtualCenter" for vCenter), as the simulator's ESX model has it.
		about = esx.ServiceContent.About
	}
	if m.noInstantClone() {
		// A server before vSphere API 6.7: InstantClone_Task is "Since vSphere API 6.7" (API reference,
		// VirtualMachine.InstantClone_Task), so a 6.5 vCenter does not know the method.
		about.Version = "6.5.0"
		about.ApiVersion = "6.5"
		about.FullName = "VMware vCenter Server 6.5.0 build-5973321"
	}
	// Calls on the ServiceInstance (RetrieveServiceContent) run under its lock.
	Map.WithLock(si, func() { si.Content.About = about })
	return nil
}

// bonnevilleModesControl serves /bonneville/modes: POST sets, DELETE restores.
func bonnevilleModesControl(w http.ResponseWriter, r *http.Request) {
	var m bonnevilleModes
	if r.Method == http.MethodPost {
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "modes must be a JSON object: " + err.Error()})
			return
		}
	} else if r.Method != http.MethodDelete {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such control endpoint: " + r.Method + " " + r.URL.Path})
		return
	}
	if err := bonnevilleSetModes(m); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, m)
}

var serviceInstanceRef = types.ManagedObjectReference{Type: "ServiceInstance", Value: "ServiceInstance"}

// bonnevilleRefuse answers calls the server would refuse before running them:
// an unknown method, or a missing privilege. It returns true when it answered.
func (f *bonnevilleFront) bonnevilleRefuse(w http.ResponseWriter, method string, body []byte) bool {
	if bonnevilleHasXMLControlCharacter(body) {
		// XML 1.0 (section 2.2, Char) allows no character below U+0020 but tab, LF and CR, raw or
		// as a character reference; vCenter answers such a request with InvalidRequest.
		f.answerSoapFault(w, method, &types.InvalidRequest{}, "The request is not well-formed XML: it holds a control character")
		return true
	}
	mode := bonnevilleModesNow()
	if method == "InstantClone_Task" && (mode.noInstantClone() || mode.hostAgent()) {
		// A server without the method answers MethodNotFound naming the receiver and the method (the
		// simulator's own dispatch does the same for methods it lacks, simulator.go). Whether an ESXi
		// host answers InstantClone_Task directly is not documented; Instant Clone is a vCenter
		// operation (vSphere 6.7 guide, "Instant Clone"), so the host-agent mode refuses it too.
		m, err := UnmarshalBody(Map.typeFunc, body)
		if err != nil {
			return false
		}
		f.answerSoapFault(w, method, &types.MethodNotFound{Receiver: m.This, Method: method},
			fmt.Sprintf("Unable to resolve WSDL method name %s", method))
		return true
	}
	if mode.MissingPrivilege == "" {
		return false
	}
	checks, ok := bonnevilleMethodPrivileges[method]
	if !ok {
		return false
	}
	m, err := UnmarshalBody(Map.typeFunc, body)
	if err != nil {
		return false
	}
	for _, check := range checks(m) {
		if check.privilege == mode.MissingPrivilege {
			// vCenter checks privileges when the call arrives and answers NoPermission with the object
			// and the privilege it found missing (API reference, NoPermission: "object", "privilegeId").
			f.answerSoapFault(w, method, &types.NoPermission{Object: check.object, PrivilegeId: check.privilege},
				"Permission to perform this operation was denied.")
			return true
		}
	}
	return false
}

// bonnevillePrivilegeCheck is one privilege a call needs, on one object.
type bonnevillePrivilegeCheck struct {
	privilege string
	object    types.ManagedObjectReference
}

func bonnevilleNeeds(object types.ManagedObjectReference, privileges ...string) []bonnevillePrivilegeCheck {
	out := make([]bonnevillePrivilegeCheck, 0, len(privileges))
	for _, p := range privileges {
		out = append(out, bonnevillePrivilegeCheck{p, object})
	}
	return out
}

// bonnevilleMethodPrivileges is what each method Bonneville calls needs, from
// the "Required privileges" of the method in the vSphere API reference (8.0).
// Reads (property collector, views, FindByInventoryPath) need System.View or
// System.Read, which every role has; they are not listed.
var bonnevilleMethodPrivileges = map[string]func(m *Method) []bonnevillePrivilegeCheck{
	// InstantClone_Task: "VirtualMachine.Provisioning.Clone, VirtualMachine.Interact.PowerOn,
	// VirtualMachine.Inventory.CreateFromExisting, Datastore.AllocateSpace, Resource.AssignVMToPool".
	"InstantClone_Task": func(m *Method) []bonnevillePrivilegeCheck {
		req, ok := m.Body.(*types.InstantClone_Task)
		if !ok {
			return nil
		}
		vm, ok := Map.Get(m.This).(*VirtualMachine)
		if !ok {
			return nil
		}
		checks := bonnevilleNeeds(m.This, "VirtualMachine.Provisioning.Clone", "VirtualMachine.Interact.PowerOn")
		folder := bonnevilleRootVMFolder(vm)
		if req.Spec.Location.Folder != nil {
			folder = *req.Spec.Location.Folder
		}
		checks = append(checks, bonnevilleNeeds(folder, "VirtualMachine.Inventory.CreateFromExisting")...)
		if len(vm.Datastore) > 0 {
			ds := vm.Datastore[0]
			if req.Spec.Location.Datastore != nil {
				ds = *req.Spec.Location.Datastore
			}
			checks = append(checks, bonnevilleNeeds(ds, "Datastore.AllocateSpace")...)
		}
		if pool := bonnevilleClonePool(vm, req.Spec.Location.Pool); pool != nil {
			checks = append(checks, bonnevilleNeeds(*pool, "Resource.AssignVMToPool")...)
		}
		return checks
	},
	// CloneVM_Task: on the source VirtualMachine.Provisioning.Clone (DeployTemplate when it is a
	// template); Resource.AssignVMToPool on the pool; Datastore.AllocateSpace on the datastores;
	// VirtualMachine.Inventory.CreateFromExisting on the folder.
	"CloneVM_Task": func(m *Method) []bonnevillePrivilegeCheck {
		req, ok := m.Body.(*types.CloneVM_Task)
		if !ok {
			return nil
		}
		vm, ok := Map.Get(m.This).(*VirtualMachine)
		if !ok {
			return nil
		}
		source := "VirtualMachine.Provisioning.Clone"
		if vm.Config != nil && vm.Config.Template {
			source = "VirtualMachine.Provisioning.DeployTemplate"
		}
		checks := bonnevilleNeeds(m.This, source)
		checks = append(checks, bonnevilleNeeds(req.Folder, "VirtualMachine.Inventory.CreateFromExisting")...)
		if pool := bonnevilleClonePool(vm, req.Spec.Location.Pool); pool != nil {
			checks = append(checks, bonnevilleNeeds(*pool, "Resource.AssignVMToPool")...)
		}
		if len(vm.Datastore) > 0 {
			ds := vm.Datastore[0]
			if req.Spec.Location.Datastore != nil {
				ds = *req.Spec.Location.Datastore
			}
			checks = append(checks, bonnevilleNeeds(ds, "Datastore.AllocateSpace")...)
		}
		return checks
	},
	"PowerOnVM_Task":  bonnevilleOnThis("VirtualMachine.Interact.PowerOn"),
	"PowerOffVM_Task": bonnevilleOnThis("VirtualMachine.Interact.PowerOff"),
	"ShutdownGuest":   bonnevilleOnThis("VirtualMachine.Interact.PowerOff"),
	"MarkAsTemplate":  bonnevilleOnThis("VirtualMachine.Provisioning.MarkAsTemplate"),
	// ReconfigVM_Task's privileges depend on the spec ("dynamic"); extra config needs
	// VirtualMachine.Config.AdvancedConfig (vSphere Security guide, Virtual machine configuration privileges).
	"ReconfigVM_Task": func(m *Method) []bonnevillePrivilegeCheck {
		req, ok := m.Body.(*types.ReconfigVM_Task)
		if !ok || len(req.Spec.ExtraConfig) == 0 {
			return nil
		}
		return bonnevilleNeeds(m.This, "VirtualMachine.Config.AdvancedConfig")
	},
	"Rename_Task": bonnevilleByType(map[string]string{
		"VirtualMachine":              "VirtualMachine.Config.Rename",
		"Folder":                      "Folder.Rename",
		"ResourcePool":                "Resource.RenamePool",
		"DistributedVirtualPortgroup": "DVPortgroup.Modify",
	}),
	"Destroy_Task": bonnevilleByType(map[string]string{
		"VirtualMachine":              "VirtualMachine.Inventory.Delete",
		"Folder":                      "Folder.Delete",
		"ResourcePool":                "Resource.DeletePool",
		"DistributedVirtualPortgroup": "DVPortgroup.Delete",
	}),
	"CreateResourcePool":          bonnevilleOnThis("Resource.CreatePool"),
	"UpdateConfig":                bonnevilleOnThis("Resource.EditPool"),
	"CreateFolder":                bonnevilleOnThis("Folder.Create"),
	"CreateDVPortgroup_Task":      bonnevilleOnThis("DVPortgroup.Create"),
	"ReconfigureDVPortgroup_Task": bonnevilleOnThis("DVPortgroup.Modify"),
	// MoveIntoFolder_Task of a VM: VirtualMachine.Inventory.Move. MoveIntoResourcePool of a VM:
	// "Resource.AssignVMToPool is required on the VirtualMachine and the target pool".
	"MoveIntoFolder_Task":  bonnevilleOnThis("VirtualMachine.Inventory.Move"),
	"MoveIntoResourcePool": bonnevilleOnThis("Resource.AssignVMToPool"),
}

func bonnevilleOnThis(privilege string) func(m *Method) []bonnevillePrivilegeCheck {
	return func(m *Method) []bonnevillePrivilegeCheck { return bonnevilleNeeds(m.This, privilege) }
}

func bonnevilleByType(byType map[string]string) func(m *Method) []bonnevillePrivilegeCheck {
	return func(m *Method) []bonnevillePrivilegeCheck {
		if p, ok := byType[m.This.Type]; ok {
			return bonnevilleNeeds(m.This, p)
		}
		return nil
	}
}

// bonnevilleKnownPrivilege is true for a privilege some method above checks.
func bonnevilleKnownPrivilege(id string) bool {
	known := []string{
		"VirtualMachine.Provisioning.Clone", "VirtualMachine.Provisioning.DeployTemplate",
		"VirtualMachine.Interact.PowerOn", "VirtualMachine.Interact.PowerOff",
		"VirtualMachine.Inventory.CreateFromExisting", "VirtualMachine.Inventory.Delete",
		"VirtualMachine.Inventory.Move", "VirtualMachine.Provisioning.MarkAsTemplate",
		"VirtualMachine.Config.AdvancedConfig", "VirtualMachine.Config.Rename",
		"Datastore.AllocateSpace", "Resource.AssignVMToPool", "Resource.CreatePool", "Resource.EditPool",
		"Resource.DeletePool", "Resource.RenamePool", "Folder.Create", "Folder.Delete", "Folder.Rename",
		"DVPortgroup.Create", "DVPortgroup.Modify", "DVPortgroup.Delete",
	}
	for _, k := range known {
		if k == id {
			return true
		}
	}
	return false
}

// bonnevilleRootVMFolder is the VM folder of the datacenter that holds vm.
func bonnevilleRootVMFolder(vm *VirtualMachine) types.ManagedObjectReference {
	if dc := Map.getEntityDatacenter(vm); dc != nil {
		return dc.VmFolder
	}
	return *vm.Parent
}

// bonnevilleClonePool is the pool a clone of vm goes to: the one asked for, else the source's.
func bonnevilleClonePool(vm *VirtualMachine, asked *types.ManagedObjectReference) *types.ManagedObjectReference {
	if asked != nil {
		return asked
	}
	return vm.ResourcePool
}

// bonnevilleInstantCloneFolder is where an instant clone goes. The API reference
// (VirtualMachineInstantCloneSpec.location): "The folder where the virtual
// machine should be located. If not specified, the root VM folder of the source
// VM will be used" — the VM folder of the source's datacenter, not the source's
// own folder. The vSphere 8 programming guide says the location "is ignored"
// for instant clones; the ignore-location mode models that.
func (vm *VirtualMachine) bonnevilleInstantCloneFolder(asked *types.ManagedObjectReference) types.ManagedObjectReference {
	if asked != nil && !bonnevilleModesNow().IgnoreLocation {
		return *asked
	}
	return bonnevilleRootVMFolder(vm)
}

// bonnevilleInstantCloneLocation drops the placement parts of a location that
// the server ignores (folder, pool, datastore), keeping the device changes,
// without which a clone could not be put on other networks at all.
func bonnevilleInstantCloneLocation(location types.VirtualMachineRelocateSpec) types.VirtualMachineRelocateSpec {
	if !bonnevilleModesNow().IgnoreLocation {
		return location
	}
	return types.VirtualMachineRelocateSpec{DeviceChange: location.DeviceChange}
}

// MoveIntoResourcePool moves VMs into this pool (the simulator lacks the
// method). The API reference: the VMs "must be part of the cluster or
// standalone host that contains this pool"; the root resource pool cannot be
// moved; only VMs are handled here.
func (p *ResourcePool) MoveIntoResourcePool(ctx *Context, req *types.MoveIntoResourcePool) soap.HasFault {
	body := &methods.MoveIntoResourcePoolBody{}
	owner := Map.getEntityComputeResource(p)
	for _, ref := range req.List {
		vm, ok := Map.Get(ref).(*VirtualMachine)
		if !ok {
			body.Fault_ = Fault("", &types.NotSupported{})
			return body
		}
		if vm.ResourcePool == nil {
			body.Fault_ = Fault("", &types.InvalidArgument{InvalidProperty: "list"})
			return body
		}
		from, ok := Map.Get(*vm.ResourcePool).(*ResourcePool)
		if !ok || !reflect.DeepEqual(Map.getEntityComputeResource(from).Reference(), owner.Reference()) {
			body.Fault_ = Fault("", &types.InvalidArgument{InvalidProperty: "list"})
			return body
		}
		if from.Self == p.Self {
			continue
		}
		Map.RemoveReference(from, &from.Vm, ref)
		// The call holds this pool's lock already (the simulator locks the receiver).
		vms := append(append([]types.ManagedObjectReference(nil), p.Vm...), ref)
		Map.Update(p, []types.PropertyChange{{Name: "vm", Val: vms}})
		self := p.Self
		Map.Update(vm, []types.PropertyChange{{Name: "resourcePool", Val: &self}})
	}
	body.Res = &types.MoveIntoResourcePoolResponse{}
	return body
}

// bonnevilleCheckWholeNics checks that each NIC edit of an instant clone
// carries the source's whole device with only its backing and connection
// changed, as govc's `vm.instantclone` sends it (govmomi govc/vm/instantclone.go takes the
// device from the source's device list and replaces the backing). The API
// reference only says device changes are "edits of VirtualEthernetCard"; what
// vCenter answers for a partial device is not documented. The simulator
// refuses it (InvalidDeviceSpec naming the field), so the provider sends the
// form vCenter's own clients send.
func bonnevilleCheckWholeNics(devices []types.BaseVirtualDevice, edits []*types.VirtualDeviceConfigSpec) types.BaseMethodFault {
	for i, e := range edits {
		if _, nic := e.Device.(types.BaseVirtualEthernetCard); !nic {
			continue // other allowed edits (file-backed serial ports) are not cards
		}
		var current types.BaseVirtualDevice
		for _, d := range devices {
			if d.GetVirtualDevice().Key == e.Device.GetVirtualDevice().Key {
				current = d
			}
		}
		if current == nil {
			continue // the key check reports it
		}
		if field := bonnevilleNicDifference(current, e.Device); field != "" {
			return &types.InvalidDeviceSpec{
				InvalidVmConfig: types.InvalidVmConfig{Property: "spec.location.deviceChange.device." + field},
				DeviceIndex:     int32(i),
			}
		}
	}
	return nil
}

// bonnevilleNicDifference names the first field in which sent differs from
// current, other than the backing and the connection (the edit's purpose).
func bonnevilleNicDifference(current, sent types.BaseVirtualDevice) string {
	if reflect.TypeOf(current) != reflect.TypeOf(sent) {
		return "xsi:type"
	}
	a, b := current.GetVirtualDevice(), sent.GetVirtualDevice()
	switch {
	case a.ControllerKey != b.ControllerKey:
		return "controllerKey"
	case !reflect.DeepEqual(a.UnitNumber, b.UnitNumber):
		return "unitNumber"
	case (a.DeviceInfo == nil) != (b.DeviceInfo == nil):
		return "deviceInfo"
	}
	ca, okA := current.(types.BaseVirtualEthernetCard)
	cb, okB := sent.(types.BaseVirtualEthernetCard)
	if !okA || !okB {
		return "xsi:type"
	}
	na, nb := ca.GetVirtualEthernetCard(), cb.GetVirtualEthernetCard()
	switch {
	case na.AddressType != nb.AddressType:
		return "addressType"
	case !strings.EqualFold(na.MacAddress, nb.MacAddress):
		return "macAddress"
	case !reflect.DeepEqual(na.WakeOnLanEnabled, nb.WakeOnLanEnabled):
		return "wakeOnLanEnabled"
	}
	return ""
}

// bonnevilleControlReference matches a character reference to U+0000-U+001F other than tab, LF, CR.
var bonnevilleControlReference = regexp.MustCompile(`&#(?:[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F])|0*(?:[0-8]|1[1-2]|1[4-9]|2[0-9]|3[01]));`)

// bonnevilleHasXMLControlCharacter reports a character XML 1.0 does not allow.
func bonnevilleHasXMLControlCharacter(body []byte) bool {
	for _, b := range body {
		if b < 0x20 && b != '\t' && b != '\n' && b != '\r' {
			return true
		}
	}
	return bonnevilleControlReference.Match(body)
}

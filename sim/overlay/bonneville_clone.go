// Bonneville additions to the vSphere simulator: InstantClone_Task, and a
// CloneVM_Task that honours spec.location.host, spec.powerOn and the source's
// extra config as vCenter does. This file is compiled into the simulator
// package with `go build -overlay` (see sim/run); it is Bonneville's own code.

package simulator

import (
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator/esx"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// bonnevilleNameMu makes "name is free in the folder" and "VM created in the
// folder" one step, so concurrent clones cannot both take a name.
var bonnevilleNameMu sync.Mutex

// bonnevilleCloneRequest is what both clone flavours need from their spec.
type bonnevilleCloneRequest struct {
	name     string
	folder   *types.ManagedObjectReference
	location types.VirtualMachineRelocateSpec
	config   []types.BaseOptionValue
	biosUUID string
	powerOn  bool
	template bool
	instant  bool
	// configDevices is CloneVM's spec.config.deviceChange (serial ports only
	// are applied: bonneville_console.go).
	configDevices []types.BaseVirtualDeviceConfigSpec
}

// InstantCloneTask implements VirtualMachine.InstantClone_Task (vSphere 6.7+):
// a powered-on copy of a powered-on source, on the source's host unless the
// location names another, with spec.config merged into its extra config.
func (vm *VirtualMachine) InstantCloneTask(ctx *Context, req *types.InstantClone_Task) soap.HasFault {
	spec := req.Spec
	task := CreateTask(vm, "instantClone", func(t *Task) (types.AnyType, types.BaseMethodFault) {
		if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
			return nil, &types.InvalidState{}
		}
		folder := vm.bonnevilleInstantCloneFolder(spec.Location.Folder)
		return vm.bonnevilleClone(ctx, bonnevilleCloneRequest{
			name:     spec.Name,
			folder:   &folder,
			location: bonnevilleInstantCloneLocation(spec.Location),
			config:   spec.Config,
			biosUUID: spec.BiosUuid,
			powerOn:  true,
			instant:  true,
		})
	})
	return &methods.InstantClone_TaskBody{
		Res: &types.InstantClone_TaskResponse{Returnval: bonnevilleRun(ctx, vm, task, "InstantClone_Task")},
	}
}

// bonnevilleRun records the session's user as the task's reason and the method
// as its name, as vCenter does (the simulator's own tasks name a fixed user and
// a shortened method), and runs the task: now,
// or, when a fault rule sets a task delay for method, later, answering the task
// queued (the work then runs under the source's lock, as the call would hold it).
func bonnevilleRun(ctx *Context, vm *VirtualMachine, task *Task, method string) types.ManagedObjectReference {
	if ctx.Session != nil {
		task.Info.Reason = &types.TaskReasonUser{UserName: ctx.Session.UserName}
	}
	task.Info.Name = method
	if ref, timed := bonnevilleTimedRun(ctx, vm, task, method, ""); timed {
		return ref // the vCenter timing model (bonneville_timing.go)
	}
	delay := bonnevilleTaskDelay(method)
	if delay <= 0 {
		return task.Run()
	}
	go func() {
		time.Sleep(delay)
		// Task.Run's steps, with each update of the task under its lock:
		// clients may be reading the queued task.
		ctx.Map.WithLock(vm, func() {
			bonnevilleStartTask(task, time.Now())
			bonnevilleFinishTask(task)
		})
	}()
	return task.Self
}

// BonnevilleCloneVMTask serves CloneVM_Task (the HTTP layer routes it here).
func (vm *VirtualMachine) BonnevilleCloneVMTask(ctx *Context, req *types.CloneVM_Task) soap.HasFault {
	// vCenter's descriptionId for CloneVM_Task is VirtualMachine.clone.
	task := CreateTask(vm, "clone", func(t *Task) (types.AnyType, types.BaseMethodFault) {
		folder := req.Folder
		var config []types.BaseOptionValue
		var configDevices []types.BaseVirtualDeviceConfigSpec
		if req.Spec.Config != nil {
			config = req.Spec.Config.ExtraConfig
			configDevices = req.Spec.Config.DeviceChange
		}
		return vm.bonnevilleClone(ctx, bonnevilleCloneRequest{
			name:     req.Name,
			folder:   &folder,
			location: req.Spec.Location,
			config:   config,
			powerOn:  req.Spec.PowerOn,
			template: req.Spec.Template,

			configDevices: configDevices,
		})
	})
	return &methods.CloneVM_TaskBody{
		Res: &types.CloneVM_TaskResponse{Returnval: bonnevilleRun(ctx, vm, task, "CloneVM_Task")},
	}
}

func (vm *VirtualMachine) bonnevilleClone(ctx *Context, r bonnevilleCloneRequest) (types.AnyType, types.BaseMethodFault) {
	if r.name == "" {
		return nil, &types.InvalidArgument{InvalidProperty: "spec.name"}
	}
	if len(r.name) > 80 {
		return nil, &types.InvalidName{Name: r.name}
	}

	folderRef := *vm.Parent
	if r.folder != nil {
		folderRef = *r.folder
	}
	folderObj := Map.Get(folderRef)
	folder, ok := folderObj.(vmFolder)
	if !ok {
		return nil, &types.ManagedObjectNotFound{Obj: folderRef}
	}

	pool := vm.ResourcePool
	if r.location.Pool != nil {
		if Map.Get(*r.location.Pool) == nil {
			return nil, &types.ManagedObjectNotFound{Obj: *r.location.Pool}
		}
		pool = r.location.Pool
	}
	if pool == nil {
		// A template has no pool; vCenter requires one for the clone.
		return nil, &types.InvalidArgument{InvalidProperty: "spec.location.pool"}
	}

	host := vm.Runtime.Host
	if r.location.Host != nil {
		if _, ok := Map.Get(*r.location.Host).(*HostSystem); !ok {
			return nil, &types.ManagedObjectNotFound{Obj: *r.location.Host}
		}
		host = r.location.Host
	}

	vmx := vm.vmx(nil)
	vmx.Path = r.name
	if ref := r.location.Datastore; ref != nil {
		ds, ok := Map.Get(*ref).(*Datastore)
		if !ok {
			return nil, &types.ManagedObjectNotFound{Obj: *ref}
		}
		vmx.Datastore = ds.Name
	}

	locationChanges, serialEdits := bonnevilleConsoleSplit(r.location.DeviceChange)
	_, configSerial := bonnevilleConsoleSplit(r.configDevices)
	if fault := bonnevilleCheckSerialChanges(vm.Config.Hardware.Device, serialEdits, configSerial); fault != nil {
		return nil, fault
	}
	nicEdits, fault := bonnevilleNicEdits(locationChanges, r.instant)
	if fault != nil {
		return nil, fault
	}
	// The clone's devices keep the source's keys: check every edit against
	// the source now, so a bad edit fails the task before any VM exists.
	if fault := bonnevilleCheckNicEdits(vm.Config.Hardware.Device, nicEdits); fault != nil {
		return nil, fault
	}
	if r.instant {
		if fault := bonnevilleCheckWholeNics(vm.Config.Hardware.Device, nicEdits); fault != nil {
			return nil, fault
		}
	}

	config := types.VirtualMachineConfigSpec{
		Name:                r.name,
		GuestId:             vm.Config.GuestId,
		Files:               &types.VirtualMachineFileInfo{VmPathName: vmx.String()},
		NumCPUs:             vm.Config.Hardware.NumCPU,
		MemoryMB:            int64(vm.Config.Hardware.MemoryMB),
		NumCoresPerSocket:   vm.Config.Hardware.NumCoresPerSocket,
		VirtualICH7MPresent: vm.Config.Hardware.VirtualICH7MPresent,
		VirtualSMCPresent:   vm.Config.Hardware.VirtualSMCPresent,
		ExtraConfig:         bonnevilleMergeOptions(vm.Config.ExtraConfig, r.config),
	}
	if r.biosUUID != "" {
		config.Uuid = r.biosUUID
	}
	config.DeviceChange = bonnevilleCopyDevices(vm.Config.Hardware.Device)
	if r.instant {
		// Past 255 redo-log levels the clone fails (bonneville_chain.go).
		if fault := bonnevilleChainCheck(vm); fault != nil {
			return nil, fault
		}
	}

	bonnevilleNameMu.Lock()
	if f, ok := asFolderMO(folderObj); ok && Map.FindByName(r.name, f.ChildEntity) != nil {
		bonnevilleNameMu.Unlock()
		return nil, &types.DuplicateName{Name: r.name, Object: folderRef}
	}
	res := folder.CreateVMTask(ctx, &types.CreateVM_Task{
		This:   folderRef,
		Config: config,
		Pool:   *pool,
		Host:   host,
	})
	bonnevilleNameMu.Unlock()

	ctask := Map.Get(res.(*methods.CreateVM_TaskBody).Res.Returnval).(*Task)
	if ctask.Info.Error != nil {
		return nil, ctask.Info.Error.Fault
	}
	ref := ctask.Info.Result.(types.ManagedObjectReference)
	clone := Map.Get(ref).(*VirtualMachine)

	if len(nicEdits) > 0 {
		if fault := clone.bonnevilleApplyNicEdits(nicEdits); fault != nil {
			return ref, fault
		}
	}
	if fault := clone.bonnevilleApplySerialChanges(append(serialEdits, configSerial...)); fault != nil {
		return ref, fault
	}
	if r.instant {
		bonnevilleGuests.markInstantClone(ref, vm.Self)
		// Delta disks (bonneville_chain.go) and the guest's identity (bonneville_identity.go).
		bonnevilleForkDisks(ctx, vm, clone)
		bonnevilleTools.fork(ref, vm.Self)
	}
	bonnevilleNetnsCloned(clone, vm.Self, r.instant)
	if r.template {
		_ = clone.MarkAsTemplate(&types.MarkAsTemplate{This: clone.Self})
	} else if r.powerOn {
		runner := &powerVMTask{clone, types.VirtualMachinePowerStatePoweredOn, ctx}
		if _, fault := runner.Run(nil); fault != nil {
			return ref, fault
		}
	}
	return ref, nil
}

// bonnevilleNicEdits checks a relocate spec's device changes. An instant clone
// accepts only edits of Ethernet cards (to change their backing).
func bonnevilleNicEdits(changes []types.BaseVirtualDeviceConfigSpec, instant bool) ([]*types.VirtualDeviceConfigSpec, types.BaseMethodFault) {
	var edits []*types.VirtualDeviceConfigSpec
	for _, c := range changes {
		spec := c.GetVirtualDeviceConfigSpec()
		_, isNIC := spec.Device.(types.BaseVirtualEthernetCard)
		if spec.Operation != types.VirtualDeviceConfigSpecOperationEdit || !isNIC {
			if instant {
				return nil, &types.InvalidArgument{InvalidProperty: "spec.location.deviceChange"}
			}
			return nil, &types.NotSupported{}
		}
		edits = append(edits, spec)
	}
	return edits, nil
}

// bonnevilleCheckNicEdits checks that each edit names an Ethernet card that
// the source has.
func bonnevilleCheckNicEdits(devices []types.BaseVirtualDevice, edits []*types.VirtualDeviceConfigSpec) types.BaseMethodFault {
	list := object.VirtualDeviceList(devices)
	for _, e := range edits {
		current := list.FindByKey(e.Device.GetVirtualDevice().Key)
		if current == nil {
			return &types.InvalidArgument{InvalidProperty: "spec.location.deviceChange.device.key"}
		}
		if _, ok := current.(types.BaseVirtualEthernetCard); !ok {
			return &types.InvalidArgument{InvalidProperty: "spec.location.deviceChange.device"}
		}
	}
	return nil
}

// bonnevilleApplyNicEdits gives existing NICs of the clone a new backing,
// keeping the clone's own (freshly generated) MAC address.
func (vm *VirtualMachine) bonnevilleApplyNicEdits(edits []*types.VirtualDeviceConfigSpec) types.BaseMethodFault {
	devices := object.VirtualDeviceList(vm.Config.Hardware.Device)
	var changes []types.BaseVirtualDeviceConfigSpec
	for _, e := range edits {
		key := e.Device.GetVirtualDevice().Key
		current := devices.FindByKey(key)
		if current == nil {
			return &types.InvalidArgument{InvalidProperty: "spec.location.deviceChange.device.key"}
		}
		if _, ok := current.(types.BaseVirtualEthernetCard); !ok {
			return &types.InvalidArgument{InvalidProperty: "spec.location.deviceChange.device"}
		}
		nic := bonnevilleCopyDevice(current)
		nic.GetVirtualDevice().Backing = e.Device.GetVirtualDevice().Backing
		if e.Device.GetVirtualDevice().Connectable != nil {
			conn := *e.Device.GetVirtualDevice().Connectable
			nic.GetVirtualDevice().Connectable = &conn
		}
		changes = append(changes, &types.VirtualDeviceConfigSpec{
			Operation: types.VirtualDeviceConfigSpecOperationEdit,
			Device:    nic,
		})
	}
	if fault := vm.configureDevices(&types.VirtualMachineConfigSpec{DeviceChange: changes}); fault != nil {
		return fault
	}
	// The edit re-adds the NIC; keep the network list to what the devices say.
	vm.bonnevilleSyncNetworks()
	return nil
}

func (vm *VirtualMachine) bonnevilleSyncNetworks() {
	var nets []types.ManagedObjectReference
	seen := map[types.ManagedObjectReference]bool{}
	for _, d := range vm.Config.Hardware.Device {
		nic, ok := d.(types.BaseVirtualEthernetCard)
		if !ok {
			continue
		}
		var ref types.ManagedObjectReference
		switch b := nic.GetVirtualEthernetCard().Backing.(type) {
		case *types.VirtualEthernetCardNetworkBackingInfo:
			if b.Network != nil {
				ref = *b.Network
			}
		case *types.VirtualEthernetCardDistributedVirtualPortBackingInfo:
			ref = types.ManagedObjectReference{Type: "DistributedVirtualPortgroup", Value: b.Port.PortgroupKey}
		}
		if ref.Value != "" && !seen[ref] {
			seen[ref] = true
			nets = append(nets, ref)
		}
	}
	Map.Update(vm, []types.PropertyChange{{Name: "network", Val: nets}})
}

// bonnevilleCopyDevices returns "add" specs for the source's own devices
// (not the defaults every new VM gets), copied so the source is not touched.
func bonnevilleCopyDevices(devices []types.BaseVirtualDevice) []types.BaseVirtualDeviceConfigSpec {
	defaults := object.VirtualDeviceList(esx.VirtualDevice)
	list := object.VirtualDeviceList(devices)
	var specs []types.BaseVirtualDeviceConfigSpec
	for _, device := range devices {
		if defaults.Find(list.Name(device)) != nil {
			continue
		}
		dup := bonnevilleCopyDevice(device)
		spec := &types.VirtualDeviceConfigSpec{
			Operation: types.VirtualDeviceConfigSpecOperationAdd,
			Device:    dup,
		}
		switch d := dup.(type) {
		case *types.VirtualDisk:
			if b, ok := d.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
				nb := *b
				nb.FileName = ""
				nb.Parent = nil
				d.Backing = &nb
			}
			spec.FileOperation = types.VirtualDeviceConfigSpecFileOperationCreate
		case types.BaseVirtualEthernetCard:
			// Every clone gets a MAC of its own, as vCenter assigns them.
			nic := d.GetVirtualEthernetCard()
			nic.MacAddress = bonnevilleAllocMAC()
			nic.AddressType = string(types.VirtualEthernetCardMacTypeAssigned)
		}
		specs = append(specs, spec)
	}
	return specs
}

var (
	bonnevilleMACMu   sync.Mutex
	bonnevilleMACNext uint32
)

// bonnevilleAllocMAC hands out addresses from vCenter's own range,
// 00:50:56:80:00:00-00:50:56:bf:ff:ff, none twice within 4M clones. (The
// simulator derives a MAC from 12 bits of the VM's UUID, which repeats
// within a few hundred clones.)
func bonnevilleAllocMAC() string {
	bonnevilleMACMu.Lock()
	n := bonnevilleMACNext
	bonnevilleMACNext = (bonnevilleMACNext + 1) & 0x3fffff
	bonnevilleMACMu.Unlock()
	return fmt.Sprintf("00:50:56:%02x:%02x:%02x", 0x80|(n>>16)&0x3f, (n>>8)&0xff, n&0xff)
}

// bonnevilleCopyDevice makes a shallow copy of a device's concrete struct.
func bonnevilleCopyDevice(device types.BaseVirtualDevice) types.BaseVirtualDevice {
	v := reflect.ValueOf(device).Elem()
	dup := reflect.New(v.Type())
	dup.Elem().Set(v)
	out := dup.Interface().(types.BaseVirtualDevice)
	if c := out.GetVirtualDevice().Connectable; c != nil {
		cc := *c
		out.GetVirtualDevice().Connectable = &cc
	}
	return out
}

// bonnevilleMergeOptions applies option values as vSphere does: a key is set
// once, a later value replaces an earlier one, an empty value removes the key.
// The simulator's own "govcsim" marker is left to NewVirtualMachine.
func bonnevilleMergeOptions(base []types.BaseOptionValue, changes []types.BaseOptionValue) []types.BaseOptionValue {
	var keys []string
	values := map[string]types.AnyType{}
	set := func(list []types.BaseOptionValue, skipEmpty bool) {
		for _, o := range list {
			ov := o.GetOptionValue()
			if ov.Key == "govcsim" {
				continue
			}
			if s, ok := ov.Value.(string); ok && s == "" && skipEmpty {
				delete(values, ov.Key)
				continue
			}
			if _, exists := values[ov.Key]; !exists {
				keys = append(keys, ov.Key)
			}
			values[ov.Key] = ov.Value
		}
	}
	set(base, false)
	set(changes, true)
	var out []types.BaseOptionValue
	for _, k := range keys {
		if v, ok := values[k]; ok {
			out = append(out, &types.OptionValue{Key: k, Value: v})
		}
	}
	return out
}

// BonnevilleReconfigVMTask serves ReconfigVM_Task with vSphere's extra config
// semantics (replace by key; an empty value deletes), then the simulator's own
// reconfigure for everything else.
func (vm *VirtualMachine) BonnevilleReconfigVMTask(ctx *Context, req *types.ReconfigVM_Task) soap.HasFault {
	if len(req.Spec.ExtraConfig) == 0 || vm.Config.Template {
		return vm.ReconfigVMTask(ctx, req)
	}
	changes := req.Spec.ExtraConfig
	spec := req.Spec
	spec.ExtraConfig = nil
	task := CreateTask(vm, "reconfigVm", func(t *Task) (types.AnyType, types.BaseMethodFault) {
		inner := vm.ReconfigVMTask(ctx, &types.ReconfigVM_Task{This: req.This, Spec: spec})
		itask := Map.Get(inner.(*methods.ReconfigVM_TaskBody).Res.Returnval).(*Task)
		if itask.Info.Error != nil {
			return nil, itask.Info.Error.Fault
		}
		merged := bonnevilleMergeOptions(vm.Config.ExtraConfig, changes)
		merged = append([]types.BaseOptionValue{&types.OptionValue{Key: "govcsim", Value: "TRUE"}}, merged...)
		Map.Update(vm, []types.PropertyChange{{Name: "config.extraConfig", Val: merged}})
		if vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
			// guestinfo changed while running is lost at power-off (bonneville_guestinfo.go).
			bonnevilleGuestinfo.apiChanged(vm.Self, changes)
		}
		return nil, nil
	})
	return &methods.ReconfigVM_TaskBody{
		Res: &types.ReconfigVM_TaskResponse{Returnval: task.Run()},
	}
}

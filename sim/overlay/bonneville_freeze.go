// Frozen instant-clone sources.
//
// Sources: vSphere 6.7 Web Services SDK programming guide, "Freezing the Source
// Virtual Machine for an Instant Clone Operation": the guest runs
// `vmware-rpctool "instantclone.freeze"` once; the hypervisor then gives the
// guest no more CPU time, the VM "continues to indicate that it is running",
// and runtime.instantCloneFrozen tells that it is frozen (API reference,
// VirtualMachineRuntimeInfo, since 6.7). Every instant clone of a frozen
// source resumes right after that call, so in each child the call returns.
// KB 67186: freezing the source stops its delta-disk chain from growing.
//
// What the documentation does not say: what PowerOffVM_Task or ReconfigVM_Task
// do to a frozen VM. The simulator lets both proceed as for any powered-on VM
// (a power-off ends the frozen state with the VM process; children already
// forked are separate VMs and keep running) and does not invent a fault.

package simulator

import (
	"github.com/vmware/govmomi/vim25/types"
)

// bonnevilleIsFrozen reports runtime.instantCloneFrozen.
func bonnevilleIsFrozen(vm *VirtualMachine) bool {
	return vm.Runtime.InstantCloneFrozen != nil && *vm.Runtime.InstantCloneFrozen
}

// bonnevilleFreeze is the guest's "instantclone.freeze" RPC. The caller holds
// vm's lock.
func bonnevilleFreeze(vm *VirtualMachine) error {
	if err := bonnevilleGuestCanRun(vm); err != nil {
		return err
	}
	bonnevilleSetFrozen(vm, true)
	return nil
}

// bonnevilleSetFrozen sets and publishes runtime.instantCloneFrozen (and its
// summary copy). The field is a *bool, which Map.Update cannot assign, so the
// field is set here and the change goes to the registry's handlers (the
// property collector among them) as Map.Update would send it.
func bonnevilleSetFrozen(vm *VirtualMachine, frozen bool) {
	vm.Runtime.InstantCloneFrozen = types.NewBool(frozen)
	vm.Summary.Runtime.InstantCloneFrozen = types.NewBool(frozen)
	changes := []types.PropertyChange{
		{Name: "runtime.instantCloneFrozen", Op: types.PropertyChangeOpAssign, Val: frozen},
		{Name: "summary.runtime.instantCloneFrozen", Op: types.PropertyChangeOpAssign, Val: frozen},
	}
	Map.applyHandlers(func(o RegisterObject) { o.UpdateObject(vm, changes) })
}

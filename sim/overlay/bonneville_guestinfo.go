// guestinfo as vSphere keeps it across a power cycle, and as a guest writes it.
//
// Sources:
//   - A guestinfo key survives a power-off only if it was in the VM's
//     configuration when the VM powered on. Keys the guest creates while the
//     VM runs, and guestinfo keys changed through the API (ReconfigVM_Task)
//     while it runs, are gone after power-off: vmware/vic issues #404, #4110,
//     #8148 and #8637; vic pre-creates every key it reports with the value
//     "<nil>" for that reason (vic doc/design/configuration.md).
//   - A guest cannot set a key to the empty string: cloud-init's
//     guestinfo_set_value (DataSourceVMware) writes a single space instead,
//     "as it is not possible to set a guestinfo key to an empty string"; vic
//     maps "" to "<nil>". What vmware-rpctool answers to an empty value is not
//     documented; the simulator refuses it with "Invalid value".
//   - One guest RPC message carries at most 64 KiB (open-vm-tools
//     lib/include/guest_msg_def.h, GUESTMSG_MAX_IN_SIZE).

package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/vmware/govmomi/vim25/types"
)

const (
	bonnevilleGuestinfoPrefix = "guestinfo."
	// bonnevilleGuestMsgMax is the largest guest RPC message (64 KiB).
	bonnevilleGuestMsgMax = 64 * 1024
)

// bonnevilleVolatile remembers, per powered-on VM, its extra config at power-on
// and which guestinfo keys the API changed since (after the guest's last write).
type bonnevilleVolatile struct {
	mu        sync.Mutex
	bootOrder map[types.ManagedObjectReference][]string
	boot      map[types.ManagedObjectReference]map[string]string
	api       map[types.ManagedObjectReference]map[string]bool
}

var bonnevilleGuestinfo = &bonnevilleVolatile{
	bootOrder: map[types.ManagedObjectReference][]string{},
	boot:      map[types.ManagedObjectReference]map[string]string{},
	api:       map[types.ManagedObjectReference]map[string]bool{},
}

// poweredOn records the configuration the VM powered on with.
func (b *bonnevilleVolatile) poweredOn(ref types.ManagedObjectReference, extra []types.BaseOptionValue) {
	values := map[string]string{}
	var order []string
	for _, o := range extra {
		ov := o.GetOptionValue()
		if _, dup := values[ov.Key]; !dup {
			order = append(order, ov.Key)
		}
		values[ov.Key] = fmt.Sprint(ov.Value)
	}
	b.mu.Lock()
	b.boot[ref] = values
	b.bootOrder[ref] = order
	b.api[ref] = map[string]bool{}
	b.mu.Unlock()
}

// apiChanged notes guestinfo keys a ReconfigVM_Task changed while the VM runs.
func (b *bonnevilleVolatile) apiChanged(ref types.ManagedObjectReference, changes []types.BaseOptionValue) {
	b.mu.Lock()
	defer b.mu.Unlock()
	api := b.api[ref]
	if api == nil {
		return
	}
	for _, o := range changes {
		if key := o.GetOptionValue().Key; strings.HasPrefix(key, bonnevilleGuestinfoPrefix) {
			api[key] = true
		}
	}
}

// guestWrote notes that the guest set key (its value now persists if the key
// was there at power-on).
func (b *bonnevilleVolatile) guestWrote(ref types.ManagedObjectReference, key string) {
	b.mu.Lock()
	if api := b.api[ref]; api != nil {
		delete(api, key)
	}
	b.mu.Unlock()
}

// poweredOff returns the extra config the VM keeps after powering off: every
// key outside guestinfo as it is; guestinfo keys present at power-on with the
// guest's last value, or their power-on value when the API changed them while
// the VM ran; guestinfo keys created while it ran are dropped. ok is false
// when the VM's power-on was not seen (nothing to revert).
func (b *bonnevilleVolatile) poweredOff(ref types.ManagedObjectReference, current []types.BaseOptionValue) ([]types.BaseOptionValue, bool) {
	b.mu.Lock()
	boot, order, api := b.boot[ref], b.bootOrder[ref], b.api[ref]
	delete(b.boot, ref)
	delete(b.bootOrder, ref)
	delete(b.api, ref)
	b.mu.Unlock()
	if boot == nil {
		return nil, false
	}
	var out []types.BaseOptionValue
	seen := map[string]bool{}
	for _, o := range current {
		ov := o.GetOptionValue()
		seen[ov.Key] = true
		if !strings.HasPrefix(ov.Key, bonnevilleGuestinfoPrefix) {
			out = append(out, o)
			continue
		}
		was, existed := boot[ov.Key]
		switch {
		case !existed:
			// created while running: lost
		case api[ov.Key]:
			out = append(out, &types.OptionValue{Key: ov.Key, Value: was})
		default:
			out = append(out, o)
		}
	}
	// A guestinfo key present at power-on that the API removed while running comes back.
	for _, key := range order {
		if strings.HasPrefix(key, bonnevilleGuestinfoPrefix) && !seen[key] && api[key] {
			out = append(out, &types.OptionValue{Key: key, Value: boot[key]})
		}
	}
	return out, true
}

func (b *bonnevilleVolatile) forget(ref types.ManagedObjectReference) {
	b.mu.Lock()
	delete(b.boot, ref)
	delete(b.bootOrder, ref)
	delete(b.api, ref)
	b.mu.Unlock()
}

// bonnevilleGuestRPCError is what a guest RPC answers when it fails.
type bonnevilleGuestRPCError struct{ reply string }

func (e *bonnevilleGuestRPCError) Error() string { return e.reply }

// bonnevilleGuestCanRun says whether the guest of vm runs code at all: powered
// on and not frozen (a frozen VM's guest gets no more CPU time: vSphere 6.7
// programming guide, "Freezing the Source Virtual Machine").
func bonnevilleGuestCanRun(vm *VirtualMachine) error {
	if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
		return &bonnevilleGuestRPCError{"the virtual machine is not running"}
	}
	if bonnevilleIsFrozen(vm) {
		return &bonnevilleGuestRPCError{"the virtual machine is frozen: its guest does not run"}
	}
	return nil
}

// bonnevilleGuestSet is `vmware-rpctool "info-set <key> <value>"` in vm's guest,
// for one or more keys (set in order, as one RPC each). The caller holds vm's
// lock. Keys must be guestinfo keys; values must not be empty.
func bonnevilleGuestSet(vm *VirtualMachine, pairs ...[2]string) error {
	if err := bonnevilleGuestCanRun(vm); err != nil {
		return err
	}
	var set []types.BaseOptionValue
	for _, p := range pairs {
		key, value := p[0], p[1]
		if !strings.HasPrefix(key, bonnevilleGuestinfoPrefix) || len(key) == len(bonnevilleGuestinfoPrefix) {
			return &bonnevilleGuestRPCError{"Invalid key name"}
		}
		if value == "" {
			return &bonnevilleGuestRPCError{"Invalid value"}
		}
		if len("info-set ")+len(key)+1+len(value) > bonnevilleGuestMsgMax {
			return &bonnevilleGuestRPCError{"Message too long"}
		}
		set = append(set, &types.OptionValue{Key: key, Value: value})
	}
	merged := bonnevilleMergeOptions(vm.Config.ExtraConfig, set)
	merged = append([]types.BaseOptionValue{&types.OptionValue{Key: "govcsim", Value: "TRUE"}}, merged...)
	Map.Update(vm, []types.PropertyChange{{Name: "config.extraConfig", Val: merged}})
	for _, p := range pairs {
		bonnevilleGuestinfo.guestWrote(vm.Self, p[0])
	}
	return nil
}

// bonnevilleGuestRPC runs one guest RPC command, as vmware-rpctool would in
// vm's guest: "info-set <key> <value>", "info-get <key>" or
// "instantclone.freeze". The caller holds vm's lock.
func bonnevilleGuestRPC(vm *VirtualMachine, command string) (string, error) {
	verb, rest := command, ""
	if i := strings.IndexByte(command, ' '); i >= 0 {
		verb, rest = command[:i], command[i+1:]
	}
	switch verb {
	case "info-set":
		key, value := rest, ""
		if i := strings.IndexByte(rest, ' '); i >= 0 {
			key, value = rest[:i], rest[i+1:]
		}
		return "", bonnevilleGuestSet(vm, [2]string{key, value})
	case "info-get":
		if err := bonnevilleGuestCanRun(vm); err != nil {
			return "", err
		}
		if value, ok := bonnevilleOption(vm, rest); ok && strings.HasPrefix(rest, bonnevilleGuestinfoPrefix) {
			return value, nil
		}
		return "", &bonnevilleGuestRPCError{"No value found"}
	case "instantclone.freeze":
		return "", bonnevilleFreeze(vm)
	}
	return "", &bonnevilleGuestRPCError{"Unknown command"}
}

// bonnevilleGuestControl serves POST /bonneville/guest/rpc
// {"vm": "vm-42", "command": "info-set guestinfo.x y"}: a test (or a guest
// stand-in) acting as the VM's guest. It answers {"ok": bool, "reply": text}.
// "instantclone.freeze" answers once the VM is frozen (in a real guest the call
// only returns in the instant clones).
func bonnevilleGuestControl(w http.ResponseWriter, r *http.Request) {
	var req struct {
		VM      string `json:"vm"`
		Command string `json:"command"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.VM == "" || req.Command == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `a guest RPC needs {"vm": "vm-N", "command": "..."}`})
		return
	}
	vm, ok := Map.Get(types.ManagedObjectReference{Type: "VirtualMachine", Value: req.VM}).(*VirtualMachine)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no virtual machine " + req.VM})
		return
	}
	var reply string
	var err error
	Map.WithLock(vm, func() { reply, err = bonnevilleGuestRPC(vm, req.Command) })
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]interface{}{"ok": false, "reply": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]interface{}{"ok": true, "reply": reply})
}

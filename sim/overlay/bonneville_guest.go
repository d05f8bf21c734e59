// Simulated guest agent (see docs/guest-contract.md): a VM whose extra config
// carries guestinfo.bonneville.agentVersion behaves, once powered on, as a
// guest running the Bonneville agent would. A parent signals
// guestinfo.bonneville.ready=true and, when guestinfo.bonneville.freeze=true,
// freezes itself (bonneville_freeze.go); an instant clone makes itself its own
// machine and reports the container's status. Everything the agent writes
// goes through the guest's info-set (bonneville_guestinfo.go), and what Tools
// reports of the network through bonneville_identity.go. Agent version 1
// (contract version 1) neither freezes nor resets the network.

package simulator

import (
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

const (
	bonnevilleAgentKey  = "guestinfo.bonneville.agentVersion"
	bonnevilleReadyKey  = "guestinfo.bonneville.ready"
	bonnevilleStatusKey = "guestinfo.bonneville.status"
	bonnevilleErrorKey  = "guestinfo.bonneville.error"
	bonnevilleImageKey  = "guestinfo.bonneville.image"
	bonnevilleFreezeKey = "guestinfo.bonneville.freeze"
	bonnevilleFrozenKey = "guestinfo.bonneville.frozen"
	// bonnevilleNil is the value that clears a guestinfo key (guest contract v2, as vmware/vic).
	bonnevilleNil = "<nil>"
)

type bonnevilleGuestSim struct {
	mu            sync.Mutex
	instant       map[types.ManagedObjectReference]types.ManagedObjectReference
	ReadyDelay    time.Duration
	CloneBootTime time.Duration
}

var bonnevilleGuests = &bonnevilleGuestSim{
	instant:       map[types.ManagedObjectReference]types.ManagedObjectReference{},
	ReadyDelay:    300 * time.Millisecond,
	CloneBootTime: 50 * time.Millisecond,
}

// SetBonnevilleGuestTiming sets how long a parent takes to become ready and a
// clone to report its container running.
func SetBonnevilleGuestTiming(ready, cloneBoot time.Duration) {
	bonnevilleGuests.ReadyDelay = ready
	bonnevilleGuests.CloneBootTime = cloneBoot
}

func (g *bonnevilleGuestSim) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "BonnevilleGuestSim", Value: "guest-sim"}
}

func (g *bonnevilleGuestSim) markInstantClone(child, parent types.ManagedObjectReference) {
	g.mu.Lock()
	g.instant[child] = parent
	g.mu.Unlock()
}

func (g *bonnevilleGuestSim) isInstantClone(ref types.ManagedObjectReference) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.instant[ref]
	return ok
}

func (g *bonnevilleGuestSim) PutObject(mo.Reference) {}

func (g *bonnevilleGuestSim) RemoveObject(ref types.ManagedObjectReference) {
	g.mu.Lock()
	delete(g.instant, ref)
	g.mu.Unlock()
	bonnevilleTools.forget(ref)
	bonnevilleGuestinfo.forget(ref)
}

// UpdateObject follows power changes. It runs inside the Map.Update of the
// power task, which holds the VM's lock: what must be true when the task
// completes (the configuration a power-off keeps) is done here, at once.
func (g *bonnevilleGuestSim) UpdateObject(obj mo.Reference, changes []types.PropertyChange) {
	ref := obj.Reference()
	if ref.Type != "VirtualMachine" {
		return
	}
	for _, c := range changes {
		if c.Name != "runtime.powerState" {
			continue
		}
		vm, ok := Map.Get(ref).(*VirtualMachine)
		if !ok {
			return
		}
		switch c.Val {
		case types.VirtualMachinePowerStatePoweredOn:
			bonnevilleGuestinfo.poweredOn(ref, vm.Config.ExtraConfig)
			bonnevilleSetFrozen(vm, false)
			if BonnevilleNetnsBacked(ref) {
				// Its guest is a namespace running the real agent, and what
				// Tools reports comes from there (bonneville_netns.go).
				bonnevilleTools.takeForked(ref)
				continue
			}
			bonnevilleTools.poweredOn(ref)
			if bonnevilleTools.takeForked(ref) {
				// The fork resumes where its source stood: Tools, resuming, reports
				// what the guest has, which is still the source's identity.
				if _, agent := bonnevilleOption(vm, bonnevilleAgentKey); agent {
					bonnevilleTools.publish(vm)
				}
				// Under the timing model, the model's Tools address and agent
				// start (drawn); otherwise the simulator's clone boot time.
				time.AfterFunc(bonnevilleGuestBootDelay(ref, g.CloneBootTime), func() { g.boot(ref, true) })
				continue
			}
			delay := g.ReadyDelay
			if g.isInstantClone(ref) {
				delay = bonnevilleGuestBootDelay(ref, g.CloneBootTime) // the timing model's, when on
			}
			time.AfterFunc(delay, func() { g.boot(ref, false) })
		case types.VirtualMachinePowerStatePoweredOff:
			if kept, ok := bonnevilleGuestinfo.poweredOff(ref, vm.Config.ExtraConfig); ok {
				kept = append([]types.BaseOptionValue{&types.OptionValue{Key: "govcsim", Value: "TRUE"}}, bonnevilleMergeOptions(kept, nil)...)
				Map.Update(vm, []types.PropertyChange{{Name: "config.extraConfig", Val: kept}})
			}
			if bonnevilleIsFrozen(vm) {
				bonnevilleSetFrozen(vm, false)
			}
			bonnevilleTools.poweredOff(vm)
		}
	}
}

func bonnevilleOption(vm *VirtualMachine, key string) (string, bool) {
	for _, o := range vm.Config.ExtraConfig {
		ov := o.GetOptionValue()
		if ov.Key == key {
			s, _ := ov.Value.(string)
			return s, true
		}
	}
	return "", false
}

// boot is the guest agent starting: after a cold boot (resumed false; Tools
// starts with the OS and reports the guest's own identity at once) or, in an
// instant clone, right after the fork (resumed true: the freeze call returned
// in a frozen source's child; a running source's child sees a new
// generation).
func (g *bonnevilleGuestSim) boot(ref types.ManagedObjectReference, resumed bool) {
	if BonnevilleNetnsBacked(ref) {
		return // the real agent runs it (bonneville_netns.go)
	}
	vm, ok := Map.Get(ref).(*VirtualMachine)
	if !ok {
		return
	}
	Map.WithLock(vm, func() {
		if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn || bonnevilleIsFrozen(vm) {
			return
		}
		version, agent := bonnevilleOption(vm, bonnevilleAgentKey)
		if !agent {
			return
		}
		if !resumed {
			bonnevilleTools.coldBoot(vm)
			bonnevilleTools.publish(vm)
		}
		if g.isInstantClone(ref) {
			g.runContainer(vm, version)
		} else {
			g.warmParent(vm, version)
		}
		bonnevilleConsoleBoot(vm, g.isInstantClone(ref) && bonnevilleReportsRunning(vm))
	})
}

// warmParent: the parent's agent signals ready and, from contract version 2,
// when guestinfo.bonneville.freeze=true, freezes the VM
// (docs/guest-contract.md).
func (g *bonnevilleGuestSim) warmParent(vm *VirtualMachine, version string) {
	_ = bonnevilleGuestSet(vm, [2]string{bonnevilleReadyKey, "true"})
	if version == "1" {
		return
	}
	if freeze, _ := bonnevilleOption(vm, bonnevilleFreezeKey); freeze == "true" {
		_ = bonnevilleGuestSet(vm, [2]string{bonnevilleFrozenKey, "true"})
		_ = bonnevilleFreeze(vm)
	}
}

// runContainer: the clone's agent. Version 2 first makes the fork its own
// machine (network reset, host name, its address published for this
// generation), then reports the container's status, never with an empty
// value ("<nil>" clears). Version 1 only reports the status.
func (g *bonnevilleGuestSim) runContainer(vm *VirtualMachine, version string) {
	image, _ := bonnevilleOption(vm, bonnevilleImageKey)
	generation, _ := bonnevilleOption(vm, "guestinfo.bonneville.generation")
	if generation == "" {
		generation = bonnevilleNil
	}
	status, reason := "running", bonnevilleNil
	switch {
	case strings.TrimSpace(image) == "" || image == bonnevilleNil:
		status, reason = "error", "guestinfo.bonneville.image is missing"
	case strings.Contains(image, "bonneville-sim/fail"):
		// An image name the simulated runtime cannot start, for tests.
		status, reason = "error", "pull "+image+": not found"
	}
	if version == "1" {
		pairs := [][2]string{{"guestinfo.bonneville.statusGeneration", generation}, {bonnevilleStatusKey, status}}
		if status == "error" {
			pairs = append(pairs, [2]string{bonnevilleErrorKey, reason})
		}
		_ = bonnevilleGuestSet(vm, pairs...)
		return
	}
	ip := bonnevilleTools.resetNetwork(vm)
	if name, ok := bonnevilleOption(vm, "guestinfo.bonneville.name"); ok && name != "" && name != bonnevilleNil {
		bonnevilleTools.setHostName(vm.Self, name)
	}
	_ = bonnevilleGuestSet(vm,
		[2]string{"guestinfo.bonneville.ipAddress", ip},
		[2]string{"guestinfo.bonneville.ipGeneration", generation},
		[2]string{"guestinfo.bonneville.statusGeneration", generation},
		[2]string{"guestinfo.bonneville.exitCode", bonnevilleNil},
		[2]string{bonnevilleErrorKey, reason},
		[2]string{bonnevilleStatusKey, status},
	)
	bonnevilleTools.schedule(vm.Self)
}

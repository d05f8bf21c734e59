// Simulated guest agent (see docs/guest-contract.md): a VM whose extra config
// carries guestinfo.bonneville.agentVersion behaves, once powered on, as a
// guest running the Bonneville agent would. A parent signals
// guestinfo.bonneville.ready=true; an instant clone reports the container's
// status. Both report a guest IP and host name through VMware Tools.

package simulator

import (
	"fmt"
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
)

type bonnevilleGuestSim struct {
	mu            sync.Mutex
	instant       map[types.ManagedObjectReference]types.ManagedObjectReference
	nextIP        uint32
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

// allocIP hands out addresses from 198.18.0.0/15, the range set aside for
// benchmarks; nothing ever connects to them.
func (g *bonnevilleGuestSim) allocIP() string {
	g.mu.Lock()
	g.nextIP++
	n := g.nextIP
	g.mu.Unlock()
	return fmt.Sprintf("198.%d.%d.%d", 18+(n>>16)&1, (n>>8)&0xff, n&0xff)
}

func (g *bonnevilleGuestSim) PutObject(mo.Reference) {}

func (g *bonnevilleGuestSim) RemoveObject(ref types.ManagedObjectReference) {
	g.mu.Lock()
	delete(g.instant, ref)
	g.mu.Unlock()
}

func (g *bonnevilleGuestSim) UpdateObject(obj mo.Reference, changes []types.PropertyChange) {
	ref := obj.Reference()
	if ref.Type != "VirtualMachine" {
		return
	}
	for _, c := range changes {
		if c.Name != "runtime.powerState" {
			continue
		}
		switch c.Val {
		case types.VirtualMachinePowerStatePoweredOn:
			delay := g.ReadyDelay
			if g.isInstantClone(ref) {
				delay = g.CloneBootTime
			}
			time.AfterFunc(delay, func() { g.boot(ref) })
		case types.VirtualMachinePowerStatePoweredOff:
			go g.shutdown(ref)
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

func (g *bonnevilleGuestSim) boot(ref types.ManagedObjectReference) {
	vm, ok := Map.Get(ref).(*VirtualMachine)
	if !ok {
		return
	}
	Map.WithLock(vm, func() {
		if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
			return
		}
		if _, agent := bonnevilleOption(vm, bonnevilleAgentKey); !agent {
			return
		}
		ip := g.allocIP()
		var nets []types.GuestNicInfo
		for _, d := range vm.Config.Hardware.Device {
			nic, ok := d.(types.BaseVirtualEthernetCard)
			if !ok {
				continue
			}
			card := nic.GetVirtualEthernetCard()
			info := types.GuestNicInfo{MacAddress: card.MacAddress, Connected: true, DeviceConfigId: card.Key}
			if len(nets) == 0 {
				info.IpAddress = []string{ip}
			}
			nets = append(nets, info)
		}
		guestChanges := []types.PropertyChange{
			{Name: "guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)},
			{Name: "guest.toolsStatus", Val: types.VirtualMachineToolsStatusToolsOk},
			{Name: "guest.ipAddress", Val: ip},
			{Name: "guest.hostName", Val: vm.Name},
			{Name: "guest.net", Val: nets},
			{Name: "summary.guest.ipAddress", Val: ip},
			{Name: "summary.guest.hostName", Val: vm.Name},
			{Name: "summary.guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)},
		}
		var set []types.BaseOptionValue
		if g.isInstantClone(ref) {
			image, _ := bonnevilleOption(vm, bonnevilleImageKey)
			generation, _ := bonnevilleOption(vm, "guestinfo.bonneville.generation")
			set = append(set, &types.OptionValue{Key: "guestinfo.bonneville.statusGeneration", Value: generation})
			switch {
			case strings.TrimSpace(image) == "":
				set = append(set,
					&types.OptionValue{Key: bonnevilleStatusKey, Value: "error"},
					&types.OptionValue{Key: bonnevilleErrorKey, Value: "guestinfo.bonneville.image is missing"})
			case strings.Contains(image, "bonneville-sim/fail"):
				// An image name the simulated runtime cannot start, for tests.
				set = append(set,
					&types.OptionValue{Key: bonnevilleStatusKey, Value: "error"},
					&types.OptionValue{Key: bonnevilleErrorKey, Value: "pull " + image + ": not found"})
			default:
				set = append(set,
					&types.OptionValue{Key: bonnevilleStatusKey, Value: "running"},
					&types.OptionValue{Key: bonnevilleErrorKey, Value: ""})
			}
		} else {
			set = append(set, &types.OptionValue{Key: bonnevilleReadyKey, Value: "true"})
		}
		bonnevilleConsoleBoot(vm, g.isInstantClone(ref) && bonnevilleReportsRunning(set))
		merged := bonnevilleMergeOptions(vm.Config.ExtraConfig, set)
		merged = append([]types.BaseOptionValue{&types.OptionValue{Key: "govcsim", Value: "TRUE"}}, merged...)
		guestChanges = append(guestChanges, types.PropertyChange{Name: "config.extraConfig", Val: merged})
		Map.Update(vm, guestChanges)
	})
}

func (g *bonnevilleGuestSim) shutdown(ref types.ManagedObjectReference) {
	vm, ok := Map.Get(ref).(*VirtualMachine)
	if !ok {
		return
	}
	Map.WithLock(vm, func() {
		if vm.Guest == nil || vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
			return
		}
		nets := append([]types.GuestNicInfo(nil), vm.Guest.Net...)
		for i := range nets {
			nets[i].IpAddress = nil
		}
		Map.Update(vm, []types.PropertyChange{
			{Name: "guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsNotRunning)},
			{Name: "guest.ipAddress", Val: ""},
			{Name: "guest.net", Val: nets},
			{Name: "summary.guest.ipAddress", Val: ""},
		})
	})
}

// A guest's network identity, and what VMware Tools reports of it.
//
// Sources:
//   - An instant clone gets new MAC addresses, but its guest keeps the
//     source's MAC, IP address and host name until it re-initialises its
//     network; the guest "must reset the network stack" (vSphere 8 Web
//     Services SDK programming guide, "Guest Customization of Instant Clone
//     Virtual Machines"). A clone that does not reset keeps the source's DHCP
//     lease: two VMs, one address.
//   - guest.ipAddress, guest.net and guest.hostName come from VMware Tools,
//     which polls the guest's network every 30 s and sends what changed
//     (open-vm-tools services/plugins/guestInfo/guestInfoServer.c,
//     GUESTINFO_POLL_INTERVAL; `vmware-toolbox-cmd info update network`
//     forces a send). So a fresh fork first shows its parent's address, until
//     the next poll after its guest reset the network.
//
// BONNEVILLE_SIM_TOOLS_NET_REFRESH_MS sets the poll interval (default 30000,
// as Tools); tests shorten it.

package simulator

import (
	"fmt"
	"sync"
	"time"

	"github.com/vmware/govmomi/vim25/types"
)

// bonnevilleGuestNet is what a guest OS has configured.
type bonnevilleGuestNet struct {
	ip       string
	macs     []string // per NIC, device order, as the guest sees them
	hostName string
}

type bonnevilleToolsSim struct {
	mu      sync.Mutex
	os      map[types.ManagedObjectReference]*bonnevilleGuestNet
	leases  map[types.ManagedObjectReference]string
	since   map[types.ManagedObjectReference]time.Time
	pending map[types.ManagedObjectReference]bool
	forked  map[types.ManagedObjectReference]bool
	nextIP  uint32
	// Refresh is how often Tools polls the guest's network.
	Refresh time.Duration
}

var bonnevilleTools = &bonnevilleToolsSim{
	os:      map[types.ManagedObjectReference]*bonnevilleGuestNet{},
	leases:  map[types.ManagedObjectReference]string{},
	since:   map[types.ManagedObjectReference]time.Time{},
	pending: map[types.ManagedObjectReference]bool{},
	forked:  map[types.ManagedObjectReference]bool{},
	Refresh: 30 * time.Second,
}

// SetBonnevilleToolsRefresh sets how often simulated Tools polls guest networks.
func SetBonnevilleToolsRefresh(d time.Duration) {
	if d > 0 {
		bonnevilleTools.Refresh = d
	}
}

// lease is the address the DHCP server gives this VM's own MAC (kept for the
// VM's life). Addresses come from 198.18.0.0/15, the range set aside for
// benchmarks; nothing ever connects to them.
func (t *bonnevilleToolsSim) lease(ref types.ManagedObjectReference) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ip, ok := t.leases[ref]; ok {
		return ip
	}
	t.nextIP++
	n := t.nextIP
	ip := fmt.Sprintf("198.%d.%d.%d", 18+(n>>16)&1, (n>>8)&0xff, n&0xff)
	t.leases[ref] = ip
	return ip
}

func bonnevilleOwnMACs(vm *VirtualMachine) []string {
	var macs []string
	for _, d := range vm.Config.Hardware.Device {
		if nic, ok := d.(types.BaseVirtualEthernetCard); ok {
			macs = append(macs, nic.GetVirtualEthernetCard().MacAddress)
		}
	}
	return macs
}

// coldBoot: the guest starts from its disk with its own MACs and gets its own
// lease; its host name is what it last set (the VM's name at first).
func (t *bonnevilleToolsSim) coldBoot(vm *VirtualMachine) {
	ip := t.lease(vm.Self)
	t.mu.Lock()
	defer t.mu.Unlock()
	name := vm.Name
	if prev := t.os[vm.Self]; prev != nil && prev.hostName != "" {
		name = prev.hostName
	}
	t.os[vm.Self] = &bonnevilleGuestNet{ip: ip, macs: bonnevilleOwnMACs(vm), hostName: name}
}

// fork: the clone's guest is the source's, network identity included.
func (t *bonnevilleToolsSim) fork(child, source types.ManagedObjectReference) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if src := t.os[source]; src != nil {
		dup := *src
		dup.macs = append([]string(nil), src.macs...)
		t.os[child] = &dup
	}
	t.forked[child] = true
}

// takeForked says (once) whether ref is an instant clone resuming for the first time.
func (t *bonnevilleToolsSim) takeForked(ref types.ManagedObjectReference) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.forked[ref]
	delete(t.forked, ref)
	return f
}

// resetNetwork: the guest re-initialises its NICs (driver rebind), so they take
// the VM's own MACs, and asks DHCP for the lease of those.
func (t *bonnevilleToolsSim) resetNetwork(vm *VirtualMachine) string {
	ip := t.lease(vm.Self)
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.os[vm.Self]
	if g == nil {
		g = &bonnevilleGuestNet{hostName: vm.Name}
		t.os[vm.Self] = g
	}
	g.ip, g.macs = ip, bonnevilleOwnMACs(vm)
	return ip
}

func (t *bonnevilleToolsSim) setHostName(ref types.ManagedObjectReference, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if g := t.os[ref]; g != nil {
		g.hostName = name
	}
}

// publish sends the guest's network identity as Tools does. The caller holds vm's lock.
func (t *bonnevilleToolsSim) publish(vm *VirtualMachine) {
	t.mu.Lock()
	g := t.os[vm.Self]
	var snap bonnevilleGuestNet
	if g != nil {
		snap = *g
	}
	t.mu.Unlock()
	if g == nil {
		return
	}
	var nets []types.GuestNicInfo
	i := 0
	for _, d := range vm.Config.Hardware.Device {
		nic, ok := d.(types.BaseVirtualEthernetCard)
		if !ok {
			continue
		}
		card := nic.GetVirtualEthernetCard()
		mac := card.MacAddress
		if i < len(snap.macs) {
			mac = snap.macs[i]
		}
		info := types.GuestNicInfo{MacAddress: mac, Connected: true, DeviceConfigId: card.Key}
		if i == 0 {
			info.IpAddress = []string{snap.ip}
		}
		nets = append(nets, info)
		i++
	}
	Map.Update(vm, []types.PropertyChange{
		{Name: "guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)},
		{Name: "guest.toolsStatus", Val: types.VirtualMachineToolsStatusToolsOk},
		{Name: "guest.ipAddress", Val: snap.ip},
		{Name: "guest.hostName", Val: snap.hostName},
		{Name: "guest.net", Val: nets},
		{Name: "summary.guest.ipAddress", Val: snap.ip},
		{Name: "summary.guest.hostName", Val: snap.hostName},
		{Name: "summary.guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)},
	})
}

// poweredOn starts Tools' poll clock.
func (t *bonnevilleToolsSim) poweredOn(ref types.ManagedObjectReference) {
	t.mu.Lock()
	t.since[ref] = time.Now()
	t.mu.Unlock()
}

// schedule makes Tools send the guest's identity at its next poll.
func (t *bonnevilleToolsSim) schedule(ref types.ManagedObjectReference) {
	t.mu.Lock()
	if t.pending[ref] {
		t.mu.Unlock()
		return
	}
	since, ok := t.since[ref]
	if !ok {
		since = time.Now()
	}
	every := t.Refresh
	elapsed := time.Since(since)
	wait := every - elapsed%every
	t.pending[ref] = true
	t.mu.Unlock()
	time.AfterFunc(wait, func() {
		t.mu.Lock()
		delete(t.pending, ref)
		t.mu.Unlock()
		vm, ok := Map.Get(ref).(*VirtualMachine)
		if !ok {
			return
		}
		Map.WithLock(vm, func() {
			if vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn && !bonnevilleIsFrozen(vm) {
				t.publish(vm)
			}
		})
	})
}

// poweredOff: Tools stops; the addresses it reported go. The caller holds vm's lock.
func (t *bonnevilleToolsSim) poweredOff(vm *VirtualMachine) {
	t.mu.Lock()
	delete(t.since, vm.Self)
	t.mu.Unlock()
	if vm.Guest == nil {
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
}

func (t *bonnevilleToolsSim) forget(ref types.ManagedObjectReference) {
	t.mu.Lock()
	delete(t.os, ref)
	delete(t.leases, ref)
	delete(t.since, ref)
	delete(t.forked, ref)
	t.mu.Unlock()
}

// Network-namespace-backed VMs (opt-in): the real guest agent
// (guest/bonneville-agent) runs for chosen VMs of the embedded vSphere in a
// Linux network namespace of their own, with real DHCP from dnsmasq.
//
//   BONNEVILLE_SIM_NETNS=all        every powered-on VM carrying the agent
//                                   (guestinfo.bonneville.agentVersion)
//   BONNEVILLE_SIM_NETNS=<regexp>   those whose name matches; instant clones of
//                                   a namespace-backed VM always are
//   BONNEVILLE_SIM_TOOLS_NET_REFRESH_MS how often Tools pushes guest.net (30000)
//
// The model, per VM: a network namespace bnv-<sim pid>-<vm id> with one veth
// per virtual NIC carrying the NIC's MAC, its peer on a bridge per port group
// in the switch namespace bnv-<sim pid>-sw, where a dnsmasq serves that port
// group's subnet (10.219.<n>.0/24). Nothing is created in the host's network
// namespace and nothing is routed out. Inside, sim/netns/guest-init runs in new
// PID, UTS and mount namespaces: the VM's "disk" is an overlay over /etc and
// /var/lib (upper layers in the VM's directory), /run is a tmpfs per boot, and
// the agent finds VMware Tools' vmware-rpctool as a stand-in that talks to
// this process over a Unix socket (bonneville_rpctool.go), and a container
// runtime stand-in (sim/netns/stand-ins/docker: images are not pulled, nothing runs).
//
// A fork (InstantClone_Task of a namespace-backed VM) gets a copy of the
// source's disk (machine-id, lease files, host name file, the agent's state),
// the source's current host name, and the source's addresses configured on its
// own NICs, which carry the clone's new MACs; the agent then has to give it an
// identity of its own. Power-off kills every process of the VM (its PID
// namespace) and removes its network namespace; power-on boots it again
// (DHCP as ifupdown would, then the agent). Stopping the simulator removes
// everything; a simulator that was killed leaves namespaces behind, which the
// next one that runs in this mode removes at start (bnv-<pid>-* of dead pids).
//
// What this cannot show about a real VM is listed in sim/netns/README.md.

package simulator

import (
	"encoding/json"
	"fmt"
	"io/ioutil"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

const bonnevilleNetnsPrefix = "bnv-"

// bonnevilleNetnsVM is one namespace-backed VM.
type bonnevilleNetnsVM struct {
	ref     types.ManagedObjectReference
	dir     string // its directory: disk/, rpc.sock, console logs
	netns   string
	init    *exec.Cmd // guest-init in its own PID namespace
	stopped chan struct{}
	// keys in the configuration at power-on: guest-set keys outside it are
	// volatile (vic issues #404, #4110, #8148, #8637)
	persistent map[string]bool
	rpc        *bonnevilleRPCServer
	vethSeq    int
}

type bonnevilleNetnsSim struct {
	mu       sync.Mutex
	enabled  bool
	all      bool
	match    *regexp.Regexp
	simDir   string
	stateDir string
	swNetns  string
	refresh  time.Duration
	bridges  map[string]int // port group key → bridge index
	dnsmasq  map[int]*exec.Cmd
	backed   map[types.ManagedObjectReference]bool
	running  map[types.ManagedObjectReference]*bonnevilleNetnsVM
	forkOf   map[types.ManagedObjectReference]types.ManagedObjectReference
	copyOf   map[types.ManagedObjectReference]types.ManagedObjectReference
	vmSeq    int
}

var bonnevilleNetns = &bonnevilleNetnsSim{}

// BonnevilleNetnsStart reads BONNEVILLE_SIM_NETNS and, when it is set,
// removes what killed simulators left behind and creates the switch namespace.
func BonnevilleNetnsStart() error {
	g := bonnevilleNetns
	sel := os.Getenv("BONNEVILLE_SIM_NETNS")
	if sel == "" {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("BONNEVILLE_SIM_NETNS needs root (network namespaces); run sim/netns/setup for the packages")
	}
	for _, tool := range []string{"ip", "dnsmasq", "dhclient", "unshare", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("BONNEVILLE_SIM_NETNS needs %s: run sim/netns/setup (installs dnsmasq-base, isc-dhcp-client, iproute2)", tool)
		}
	}
	g.all = sel == "all"
	if !g.all {
		re, err := regexp.Compile(sel)
		if err != nil {
			return fmt.Errorf("BONNEVILLE_SIM_NETNS=%q is neither \"all\" nor a regular expression: %v", sel, err)
		}
		g.match = re
	}
	g.refresh = 30 * time.Second // Tools pushes NIC data every 30 s (open-vm-tools guestInfoServer.c)
	if v := os.Getenv("BONNEVILLE_SIM_TOOLS_NET_REFRESH_MS"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return fmt.Errorf("BONNEVILLE_SIM_TOOLS_NET_REFRESH_MS must be a positive number of milliseconds, got %q", v)
		}
		g.refresh = time.Duration(ms) * time.Millisecond
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	g.simDir = filepath.Dir(filepath.Dir(exe)) // sim/.build/bonneville-sim → sim/
	if d := os.Getenv("BONNEVILLE_SIM_DIR"); d != "" {
		g.simDir = d
	}
	bonnevilleNetnsCleanStale()
	pid := os.Getpid()
	g.stateDir = filepath.Join(os.TempDir(), fmt.Sprintf("%s%d", bonnevilleNetnsPrefix, pid))
	if err := os.MkdirAll(g.stateDir, 0o700); err != nil {
		return err
	}
	g.swNetns = fmt.Sprintf("%s%d-sw", bonnevilleNetnsPrefix, pid)
	if out, err := bonnevilleIP("netns", "add", g.swNetns); err != nil {
		return fmt.Errorf("create network namespace %s: %v: %s", g.swNetns, err, out)
	}
	g.bridges = map[string]int{}
	g.dnsmasq = map[int]*exec.Cmd{}
	g.backed = map[types.ManagedObjectReference]bool{}
	g.running = map[types.ManagedObjectReference]*bonnevilleNetnsVM{}
	g.forkOf = map[types.ManagedObjectReference]types.ManagedObjectReference{}
	g.copyOf = map[types.ManagedObjectReference]types.ManagedObjectReference{}
	g.enabled = true
	Map.AddHandler(g)
	log.Printf("network-namespace VMs on (%s); state in %s", sel, g.stateDir)
	return nil
}

// BonnevilleNetnsStop kills every VM's processes and dnsmasq and removes the
// namespaces (and with them the bridges and veths) and the state directory.
func BonnevilleNetnsStop() {
	g := bonnevilleNetns
	g.mu.Lock()
	if !g.enabled {
		g.mu.Unlock()
		return
	}
	g.enabled = false
	vms := g.running
	g.running = map[types.ManagedObjectReference]*bonnevilleNetnsVM{}
	dns := g.dnsmasq
	g.dnsmasq = map[int]*exec.Cmd{}
	g.mu.Unlock()
	for _, vm := range vms {
		vm.stop()
	}
	for _, cmd := range dns {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	}
	bonnevilleNetnsRemove(g.swNetns)
	_ = os.RemoveAll(g.stateDir)
}

// bonnevilleNetnsCleanStale removes bnv-<pid>-* namespaces and /tmp/bnv-<pid>
// of simulators that are no longer running (killed without cleaning up).
func bonnevilleNetnsCleanStale() {
	out, _ := bonnevilleIP("netns", "list")
	re := regexp.MustCompile(`^` + bonnevilleNetnsPrefix + `(\d+)-\S+`)
	for _, line := range strings.Split(out, "\n") {
		m := re.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		if pid, _ := strconv.Atoi(m[1]); bonnevilleProcessAlive(pid) {
			continue
		}
		log.Printf("removing network namespace %s left by a simulator that is gone", m[0])
		bonnevilleNetnsRemove(m[0])
	}
	for _, left := range bonnevilleLeftInTmp(bonnevilleNetnsPrefix, "") {
		_ = os.RemoveAll(left.path)
	}
}

// bonnevilleLeftover is an entry of TMPDIR named after a simulator that is gone.
type bonnevilleLeftover struct {
	path string
	pid  int
}

// bonnevilleLeftInTmp lists the entries of TMPDIR named prefix<pid>suffix
// whose simulator is no longer running (bonnevilleProcessAlive).
func bonnevilleLeftInTmp(prefix, suffix string) []bonnevilleLeftover {
	var left []bonnevilleLeftover
	paths, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"*"+suffix))
	for _, p := range paths {
		pid, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), prefix), suffix))
		if err == nil && !bonnevilleProcessAlive(pid) {
			left = append(left, bonnevilleLeftover{path: p, pid: pid})
		}
	}
	return left
}

// bonnevilleProcessAlive says whether pid is a running simulator (a pid
// reused by another program does not keep a dead simulator's leftovers).
func bonnevilleProcessAlive(pid int) bool {
	if pid <= 0 || pid == os.Getpid() {
		return pid == os.Getpid()
	}
	cmdline, err := ioutil.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && strings.Contains(string(cmdline), "bonneville-sim")
}

// bonnevilleNetnsRemove kills every process in a namespace, then deletes it.
func bonnevilleNetnsRemove(name string) {
	out, _ := bonnevilleIP("netns", "pids", name)
	for _, f := range strings.Fields(out) {
		if pid, err := strconv.Atoi(f); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	_, _ = bonnevilleIP("netns", "delete", name)
}

func bonnevilleIP(args ...string) (string, error) {
	out, err := exec.Command("ip", args...).CombinedOutput()
	return string(out), err
}

// BonnevilleNetnsBacked says whether a VM is run by a namespace (the Go
// simulated agent in bonneville_guest.go then stays out of its way).
func BonnevilleNetnsBacked(ref types.ManagedObjectReference) bool {
	g := bonnevilleNetns
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.enabled && g.backed[ref]
}

// bonnevilleNetnsCloned is called by the clone code before the clone powers
// on: it decides whether the clone is namespace-backed and what it copies.
func bonnevilleNetnsCloned(clone *VirtualMachine, source types.ManagedObjectReference, instant bool) {
	g := bonnevilleNetns
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.enabled {
		return
	}
	if instant && g.backed[source] {
		g.backed[clone.Self] = true
		g.forkOf[clone.Self] = source
		return
	}
	g.copyOf[clone.Self] = source
	if g.chosen(clone) {
		g.backed[clone.Self] = true
	}
}

func (g *bonnevilleNetnsSim) chosen(vm *VirtualMachine) bool {
	if vm.Config == nil || vm.Config.Template {
		return false
	}
	if _, agent := bonnevilleOption(vm, bonnevilleAgentKey); !agent {
		return false
	}
	return g.all || (g.match != nil && g.match.MatchString(vm.Name))
}

func (g *bonnevilleNetnsSim) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "BonnevilleNetnsSim", Value: "netns-sim"}
}

func (g *bonnevilleNetnsSim) PutObject(mo.Reference) {}

func (g *bonnevilleNetnsSim) RemoveObject(ref types.ManagedObjectReference) {
	g.mu.Lock()
	vm := g.running[ref]
	delete(g.running, ref)
	delete(g.backed, ref)
	delete(g.forkOf, ref)
	delete(g.copyOf, ref)
	dir := filepath.Join(g.stateDir, ref.Value)
	g.mu.Unlock()
	if vm != nil {
		vm.stop()
	}
	_ = os.RemoveAll(dir)
}

func (g *bonnevilleNetnsSim) UpdateObject(obj mo.Reference, changes []types.PropertyChange) {
	// obj is the managed object's property struct; the registry holds the VM
	ref := obj.Reference()
	if ref.Type != "VirtualMachine" {
		return
	}
	vm, ok := Map.Get(ref).(*VirtualMachine)
	if !ok {
		return
	}
	for _, c := range changes {
		if c.Name != "runtime.powerState" {
			continue
		}
		g.mu.Lock()
		if g.enabled && !g.backed[vm.Self] && g.chosen(vm) {
			g.backed[vm.Self] = true
		}
		backed := g.enabled && g.backed[vm.Self]
		g.mu.Unlock()
		if !backed {
			continue
		}
		switch c.Val {
		case types.VirtualMachinePowerStatePoweredOn:
			snapshot := bonnevilleNetnsSnapshot(vm)
			go g.powerOn(snapshot)
		case types.VirtualMachinePowerStatePoweredOff:
			go g.powerOff(vm.Self)
		}
	}
}

// bonnevilleNetnsVMInfo is what a power-on needs from the VM object, read
// while the caller holds its lock.
type bonnevilleNetnsVMInfo struct {
	ref      types.ManagedObjectReference
	name     string
	nics     []bonnevilleNetnsNIC
	persist  map[string]bool
	isFrozen bool
}

type bonnevilleNetnsNIC struct {
	key       int32
	mac       string
	portGroup string
}

func bonnevilleNetnsSnapshot(vm *VirtualMachine) bonnevilleNetnsVMInfo {
	info := bonnevilleNetnsVMInfo{ref: vm.Self, name: vm.Name, persist: map[string]bool{}}
	for _, o := range vm.Config.ExtraConfig {
		info.persist[o.GetOptionValue().Key] = true
	}
	for _, d := range vm.Config.Hardware.Device {
		nic, ok := d.(types.BaseVirtualEthernetCard)
		if !ok {
			continue
		}
		card := nic.GetVirtualEthernetCard()
		pg := ""
		switch b := card.Backing.(type) {
		case *types.VirtualEthernetCardDistributedVirtualPortBackingInfo:
			pg = b.Port.PortgroupKey
		case *types.VirtualEthernetCardNetworkBackingInfo:
			if b.Network != nil {
				pg = b.Network.Value
			}
		}
		info.nics = append(info.nics, bonnevilleNetnsNIC{key: card.Key, mac: card.MacAddress, portGroup: pg})
	}
	return info
}

// bridge returns the bridge index of a port group, creating the bridge and
// its dnsmasq in the switch namespace on first use.
func (g *bonnevilleNetnsSim) bridge(portGroup string) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if i, ok := g.bridges[portGroup]; ok {
		return i, nil
	}
	i := len(g.bridges)
	if i > 250 {
		return 0, fmt.Errorf("too many port groups for namespace-backed VMs")
	}
	br := fmt.Sprintf("br%d", i)
	for _, args := range [][]string{
		{"-n", g.swNetns, "link", "add", br, "type", "bridge"},
		{"-n", g.swNetns, "addr", "add", fmt.Sprintf("10.219.%d.1/24", i), "dev", br},
		{"-n", g.swNetns, "link", "set", br, "up"},
	} {
		if out, err := bonnevilleIP(args...); err != nil {
			return 0, fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	leases := filepath.Join(g.stateDir, br+".leases")
	cmd := exec.Command("ip", "netns", "exec", g.swNetns, "dnsmasq",
		"--keep-in-foreground", "--conf-file=/dev/null", "--no-hosts", "--no-resolv", "--port=0",
		"--user=root", "--group=root", "--interface="+br, "--bind-interfaces",
		fmt.Sprintf("--dhcp-range=10.219.%d.10,10.219.%d.250,255.255.255.0,12h", i, i),
		"--dhcp-authoritative", "--dhcp-leasefile="+leases, "--log-dhcp",
		"--log-facility="+filepath.Join(g.stateDir, br+".dnsmasq.log"),
		"--pid-file="+filepath.Join(g.stateDir, br+".dnsmasq.pid"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start dnsmasq on %s: %v", br, err)
	}
	g.bridges[portGroup] = i
	g.dnsmasq[i] = cmd
	return i, nil
}

func (g *bonnevilleNetnsSim) fail(ref types.ManagedObjectReference, format string, args ...interface{}) {
	log.Printf("network-namespace VM %s: %s", ref.Value, fmt.Sprintf(format, args...))
}

func (g *bonnevilleNetnsSim) powerOn(info bonnevilleNetnsVMInfo) {
	g.mu.Lock()
	if g.running[info.ref] != nil || !g.enabled {
		g.mu.Unlock()
		return
	}
	vm := &bonnevilleNetnsVM{
		ref:        info.ref,
		dir:        filepath.Join(g.stateDir, info.ref.Value),
		netns:      fmt.Sprintf("%s%d-%s", bonnevilleNetnsPrefix, os.Getpid(), info.ref.Value),
		stopped:    make(chan struct{}),
		persistent: info.persist,
	}
	g.running[info.ref] = vm
	source, fork := g.forkOf[info.ref]
	delete(g.forkOf, info.ref) // a later power-on of the clone is a boot
	copySource, copied := g.copyOf[info.ref]
	delete(g.copyOf, info.ref)
	g.mu.Unlock()

	disk := filepath.Join(vm.dir, "disk")
	var parentAddrs [][]string
	hostname := ""
	switch {
	case fork:
		srcDir := filepath.Join(g.stateDir, source.Value, "disk")
		if err := bonnevilleCopyTree(srcDir, disk); err != nil {
			g.fail(info.ref, "copy the source's disk: %v", err)
		}
		parentAddrs, hostname = g.guestNetworkState(source, len(info.nics))
	case copied && bonnevilleDirExists(filepath.Join(g.stateDir, copySource.Value, "disk")):
		_ = bonnevilleCopyTree(filepath.Join(g.stateDir, copySource.Value, "disk"), disk)
	}
	if !bonnevilleDirExists(disk) {
		if err := bonnevilleTemplateDisk(disk); err != nil {
			g.fail(info.ref, "make its disk: %v", err)
			return
		}
	}

	if out, err := bonnevilleIP("netns", "add", vm.netns); err != nil {
		g.fail(info.ref, "ip netns add: %v: %s", err, out)
		return
	}
	var names []string
	for k, nic := range info.nics {
		br, err := g.bridge(nic.portGroup)
		if err != nil {
			g.fail(info.ref, "%v", err)
			return
		}
		name := fmt.Sprintf("eth%d", k)
		peer := fmt.Sprintf("v%s-%d", strings.TrimPrefix(info.ref.Value, "vm-"), k)
		for _, args := range [][]string{
			{"-n", vm.netns, "link", "add", name, "address", nic.mac, "type", "veth", "peer", "name", peer, "netns", g.swNetns},
			{"-n", g.swNetns, "link", "set", peer, "master", fmt.Sprintf("br%d", br), "up"},
		} {
			if out, err := bonnevilleIP(args...); err != nil {
				g.fail(info.ref, "ip %s: %v: %s", strings.Join(args, " "), err, out)
				return
			}
		}
		if k < len(parentAddrs) {
			// the fork resumes with the source's addresses still configured
			_, _ = bonnevilleIP("-n", vm.netns, "link", "set", name, "up")
			for _, a := range parentAddrs[k] {
				_, _ = bonnevilleIP("-n", vm.netns, "addr", "add", a, "dev", name)
			}
		}
		names = append(names, name)
	}

	rpc, err := bonnevilleServeRPC(vm)
	if err != nil {
		g.fail(info.ref, "rpc socket: %v", err)
		return
	}
	vm.rpc = rpc
	mode := "boot"
	if fork {
		mode = "resume"
	}
	cmd := exec.Command("ip", "netns", "exec", vm.netns,
		"unshare", "--pid", "--fork", "--kill-child", "--uts", "--mount-proc",
		"bash", filepath.Join(g.simDir, "netns", "guest-init"), vm.dir, mode, strings.Join(names, " "), hostname)
	cmd.Env = append(os.Environ(),
		"BONNEVILLE_SIM_BIN="+bonnevilleExecutable(),
		"BONNEVILLE_RPC_SOCKET="+rpc.path,
		"BONNEVILLE_AGENT="+filepath.Join(filepath.Dir(g.simDir), "guest", "bonneville-agent"))
	console, _ := os.OpenFile(filepath.Join(vm.dir, "guest.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	cmd.Stdout, cmd.Stderr = console, console
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		g.fail(info.ref, "start guest-init: %v", err)
		return
	}
	vm.init = cmd
	go func() {
		_ = cmd.Wait()
		if console != nil {
			_ = console.Close()
		}
	}()
	go g.tools(vm)
}

func (g *bonnevilleNetnsSim) powerOff(ref types.ManagedObjectReference) {
	g.mu.Lock()
	vm := g.running[ref]
	delete(g.running, ref)
	g.mu.Unlock()
	if vm == nil {
		return
	}
	vm.stop()
	// guest-created guestinfo keys are gone after power-off; keys that were in
	// the configuration at power-on keep the guest's values (vic #4110, #8148)
	if obj, ok := Map.Get(ref).(*VirtualMachine); ok {
		Map.WithLock(obj, func() {
			var kept []types.BaseOptionValue
			for _, o := range obj.Config.ExtraConfig {
				k := o.GetOptionValue().Key
				if strings.HasPrefix(k, "guestinfo.") && !vm.persistent[k] && vm.rpc != nil && vm.rpc.guestSet(k) {
					continue
				}
				kept = append(kept, o)
			}
			var nets []types.GuestNicInfo
			if obj.Guest != nil {
				nets = append(nets, obj.Guest.Net...)
			}
			for i := range nets {
				nets[i].IpAddress = nil
				nets[i].IpConfig = nil
			}
			Map.Update(obj, []types.PropertyChange{
				{Name: "config.extraConfig", Val: kept},
				{Name: "guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsNotRunning)},
				{Name: "guest.ipAddress", Val: ""},
				{Name: "guest.net", Val: nets},
				{Name: "summary.guest.ipAddress", Val: ""},
			})
		})
	}
}

// stop kills the VM's processes (its PID namespace goes with guest-init),
// closes its Tools channel and removes its network namespace and veths.
func (vm *bonnevilleNetnsVM) stop() {
	select {
	case <-vm.stopped:
		return
	default:
		close(vm.stopped)
	}
	if vm.init != nil && vm.init.Process != nil {
		_ = vm.init.Process.Kill()
	}
	if vm.rpc != nil {
		vm.rpc.close()
	}
	bonnevilleNetnsRemove(vm.netns)
}

// guestNetworkState reads a running VM's addresses (per NIC, in order) and host name.
func (g *bonnevilleNetnsSim) guestNetworkState(ref types.ManagedObjectReference, n int) ([][]string, string) {
	g.mu.Lock()
	vm := g.running[ref]
	g.mu.Unlock()
	if vm == nil {
		return nil, ""
	}
	addrs := make([][]string, n)
	for _, l := range bonnevilleNetnsLinks(vm.netns) {
		var k int
		if _, err := fmt.Sscanf(l.Name, "eth%d", &k); err != nil || k >= n {
			continue
		}
		for _, a := range l.Addrs {
			if a.Family == "inet" && a.Scope == "global" {
				addrs[k] = append(addrs[k], fmt.Sprintf("%s/%d", a.Local, a.Prefix))
			}
		}
	}
	return addrs, vm.hostname()
}

func (vm *bonnevilleNetnsVM) hostname() string {
	if vm.init == nil || vm.init.Process == nil {
		return ""
	}
	// guest-init is the child of unshare; read the UTS namespace through it
	child, err := ioutil.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", vm.init.Process.Pid, vm.init.Process.Pid))
	if err != nil || len(strings.Fields(string(child))) == 0 {
		return ""
	}
	out, err := exec.Command("nsenter", "-t", strings.Fields(string(child))[0], "-u", "hostname").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

type bonnevilleNetnsLink struct {
	Name    string `json:"ifname"`
	Address string `json:"address"`
	Addrs   []struct {
		Family string `json:"family"`
		Local  string `json:"local"`
		Prefix int    `json:"prefixlen"`
		Scope  string `json:"scope"`
	} `json:"addr_info"`
}

func bonnevilleNetnsLinks(netns string) []bonnevilleNetnsLink {
	out, err := exec.Command("ip", "-n", netns, "-j", "addr", "show").Output()
	if err != nil {
		return nil
	}
	var links []bonnevilleNetnsLink
	_ = json.Unmarshal(out, &links)
	return links
}

// tools publishes guest.net, guest.ipAddress and guest.hostName from the
// namespace as VMware Tools does: at once when the VM starts or resumes, then
// every refresh interval (open-vm-tools guestInfoServer.c; 30 s by default).
// A fork therefore first shows its source's address.
func (g *bonnevilleNetnsSim) tools(vm *bonnevilleNetnsVM) {
	time.Sleep(100 * time.Millisecond) // guest-init has set the host name
	for {
		g.publishGuest(vm)
		select {
		case <-vm.stopped:
			return
		case <-time.After(g.refresh):
		}
	}
}

func (g *bonnevilleNetnsSim) publishGuest(vm *bonnevilleNetnsVM) {
	links := bonnevilleNetnsLinks(vm.netns)
	host := vm.hostname()
	obj, ok := Map.Get(vm.ref).(*VirtualMachine)
	if !ok {
		return
	}
	select {
	case <-vm.stopped:
		return
	default:
	}
	Map.WithLock(obj, func() {
		if obj.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
			return
		}
		ip := ""
		var nets []types.GuestNicInfo
		for _, d := range obj.Config.Hardware.Device {
			nic, ok := d.(types.BaseVirtualEthernetCard)
			if !ok {
				continue
			}
			card := nic.GetVirtualEthernetCard()
			info := types.GuestNicInfo{MacAddress: card.MacAddress, Connected: true, DeviceConfigId: card.Key}
			for _, l := range links {
				if !strings.EqualFold(l.Address, card.MacAddress) {
					continue
				}
				for _, a := range l.Addrs {
					if a.Scope != "global" {
						continue
					}
					info.IpAddress = append(info.IpAddress, a.Local)
					if ip == "" && a.Family == "inet" {
						ip = a.Local
					}
				}
			}
			nets = append(nets, info)
		}
		Map.Update(obj, []types.PropertyChange{
			{Name: "guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)},
			{Name: "guest.toolsStatus", Val: types.VirtualMachineToolsStatusToolsOk},
			{Name: "guest.ipAddress", Val: ip},
			{Name: "guest.hostName", Val: host},
			{Name: "guest.net", Val: nets},
			{Name: "summary.guest.ipAddress", Val: ip},
			{Name: "summary.guest.hostName", Val: host},
			{Name: "summary.guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)},
		})
	})
}

// bonnevilleTemplateDisk is the disk of a VM made from the source template:
// the template's machine-id and host name, as an uncustomized copy keeps them.
func bonnevilleTemplateDisk(disk string) error {
	for _, d := range []string{"etc", "var-lib", "work-etc", "work-var-lib"} {
		if err := os.MkdirAll(filepath.Join(disk, d), 0o755); err != nil {
			return err
		}
	}
	files := map[string]string{
		"etc/machine-id": "b0e7e5c1a2d34f6e8a9b0c1d2e3f4a5b\n",
		"etc/hostname":   "bonneville-template\n",
		"etc/hosts":      "127.0.0.1 localhost\n127.0.1.1 bonneville-template\n",
	}
	for name, text := range files {
		if err := ioutil.WriteFile(filepath.Join(disk, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func bonnevilleCopyTree(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return err
	}
	out, err := exec.Command("cp", "-a", from, to).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	// the overlay work directories are per mount
	for _, w := range []string{"work-etc", "work-var-lib"} {
		_ = os.RemoveAll(filepath.Join(to, w))
		_ = os.MkdirAll(filepath.Join(to, w), 0o755)
	}
	return nil
}

func bonnevilleDirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func bonnevilleExecutable() string {
	exe, _ := os.Executable()
	return exe
}

// ---------------------------------------------------------------------------
// The control API: GET /bonneville/netns shows each namespace-backed VM and the
// DHCP lease table of each port group, for tests and the demo.

type bonnevilleNetnsReportVM struct {
	ID        string   `json:"id"`
	Netns     string   `json:"netns"`
	MACs      []string `json:"macs"`
	Addresses []string `json:"addresses"`
	Hostname  string   `json:"hostname"`
	MachineID string   `json:"machineId"`
	// Frozen is runtime.instantCloneFrozen (set by the guest's instantclone.freeze)
	Frozen bool `json:"frozen"`
}

type bonnevilleNetnsLease struct {
	Bridge   string `json:"bridge"`
	Expiry   string `json:"expiry"`
	MAC      string `json:"mac"`
	IP       string `json:"ip"`
	Hostname string `json:"hostname"`
	ClientID string `json:"clientId"`
}

func bonnevilleNetnsControl(w http.ResponseWriter, r *http.Request) {
	g := bonnevilleNetns
	g.mu.Lock()
	enabled := g.enabled
	var vms []*bonnevilleNetnsVM
	for _, vm := range g.running {
		vms = append(vms, vm)
	}
	bridges := len(g.bridges)
	g.mu.Unlock()
	if !enabled {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "network-namespace VMs are off (set BONNEVILLE_SIM_NETNS)"})
		return
	}
	report := []bonnevilleNetnsReportVM{}
	for _, vm := range vms {
		item := bonnevilleNetnsReportVM{ID: vm.ref.Value, Netns: vm.netns, MACs: []string{}, Addresses: []string{}, Hostname: vm.hostname()}
		for _, l := range bonnevilleNetnsLinks(vm.netns) {
			if l.Name == "lo" {
				continue
			}
			item.MACs = append(item.MACs, l.Address)
			for _, a := range l.Addrs {
				if a.Scope == "global" {
					item.Addresses = append(item.Addresses, a.Local)
				}
			}
		}
		if id, err := ioutil.ReadFile(filepath.Join(vm.dir, "disk", "etc", "machine-id")); err == nil {
			item.MachineID = strings.TrimSpace(string(id))
		}
		if obj, ok := Map.Get(vm.ref).(*VirtualMachine); ok {
			Map.WithLock(obj, func() {
				item.Frozen = obj.Runtime.InstantCloneFrozen != nil && *obj.Runtime.InstantCloneFrozen
			})
		}
		report = append(report, item)
	}
	sort.Slice(report, func(i, j int) bool { return report[i].ID < report[j].ID })
	leases := []bonnevilleNetnsLease{}
	for i := 0; i < bridges; i++ {
		br := fmt.Sprintf("br%d", i)
		text, _ := ioutil.ReadFile(filepath.Join(g.stateDir, br+".leases"))
		for _, line := range strings.Split(string(text), "\n") {
			f := strings.Fields(line)
			if len(f) < 5 {
				continue
			}
			leases = append(leases, bonnevilleNetnsLease{Bridge: br, Expiry: f[0], MAC: f[1], IP: f[2], Hostname: f[3], ClientID: f[4]})
		}
	}
	writeJSON(w, http.StatusOK, map[string]interface{}{
		"simPid": os.Getpid(), "switchNetns": g.swNetns, "stateDir": g.stateDir, "vms": report, "leases": leases,
	})
}

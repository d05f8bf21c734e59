// Container output through a file-backed serial port (the Bonneville guest
// contract, "Container output"): each ContainerVM has a VirtualSerialPort
// whose backing is the file "[<datastore>] <vm folder>/bonneville-console.log";
// the guest agent writes the container's output there, one record a line,
// "<RFC3339Nano UTC time> <stdout|stderr> <text>", and clients read it through
// vCenter's datastore file access (GET /folder/<path>?dcPath=&dsName=).
//
// What this file models:
//   - CloneVM_Task's spec.config.deviceChange adding or editing a serial port
//     (the API reference's VirtualMachineCloneSpec.config: "configuration
//     changes applied to the clone"), which the simulator's clone ignored;
//   - InstantClone_Task's spec.location.deviceChange editing the backing of a
//     file-backed serial port (API reference, VirtualMachineInstantCloneSpec:
//     location.deviceChange may only edit VirtualEthernetCard devices and
//     file-backed VirtualSerialPort/VirtualParallelPort backings);
//   - the serial port's file, created when the VM powers on (ESXi opens the
//     backing file at power-on and appends to it: the VMX option
//     serialN.fileName; whether a new power-on truncates the file is not
//     documented, so the simulator keeps what is there);
//   - vCenter's datastore file access needing a session: a request without
//     a valid vmware_soap_session cookie is answered 401 (vSphere Web
//     Services SDK programming guide, "HTTP access to vSphere server files";
//     basic authentication, which vCenter also accepts, is not modelled);
//     Range requests are served (govmomi's object.DatastoreFile, which
//     `govc datastore.tail -f` uses, seeks with Range headers);
//   - the simulated agent's container output (test hook, documented in
//     docs/guest-contract.md and the README): every command word of a
//     simulated container is one output line, written in order; a word
//     "stderr:<text>" writes <text> to stderr, "sleep:<ms>" pauses. An image
//     named bonneville-sim/exit:<code> exits with <code> after its last line
//     (status=exited, exitCode=<code>); any other image keeps running.

package simulator

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

// bonnevilleConsoleFileName is the file name of a ContainerVM's console.
const bonnevilleConsoleFileName = "bonneville-console.log"

// bonnevilleConsoleSplit takes the serial port changes out of a device change
// list; the rest stay for the NIC handling.
func bonnevilleConsoleSplit(changes []types.BaseVirtualDeviceConfigSpec) (rest []types.BaseVirtualDeviceConfigSpec, serial []*types.VirtualDeviceConfigSpec) {
	for _, c := range changes {
		spec := c.GetVirtualDeviceConfigSpec()
		if _, ok := spec.Device.(*types.VirtualSerialPort); ok {
			serial = append(serial, spec)
			continue
		}
		rest = append(rest, c)
	}
	return rest, serial
}

// bonnevilleCheckSerialEdits checks InstantClone's serial port edits against
// the source: only edits, of a serial port the source has, to a file backing
// on a datastore path.
func bonnevilleCheckSerialEdits(source []types.BaseVirtualDevice, edits []*types.VirtualDeviceConfigSpec) types.BaseMethodFault {
	list := object.VirtualDeviceList(source)
	for _, e := range edits {
		if e.Operation != types.VirtualDeviceConfigSpecOperationEdit {
			return &types.InvalidArgument{InvalidProperty: "spec.location.deviceChange"}
		}
		if _, ok := list.FindByKey(e.Device.GetVirtualDevice().Key).(*types.VirtualSerialPort); !ok {
			return &types.InvalidArgument{InvalidProperty: "spec.location.deviceChange.device.key"}
		}
		if fault := bonnevilleCheckSerialBacking(e.Device); fault != nil {
			return fault
		}
	}
	return nil
}

// bonnevilleCheckSerialChanges checks both kinds of serial port changes
// before the clone exists, so a bad one leaves no VM behind.
func bonnevilleCheckSerialChanges(source []types.BaseVirtualDevice, locationEdits, configChanges []*types.VirtualDeviceConfigSpec) types.BaseMethodFault {
	if fault := bonnevilleCheckSerialEdits(source, locationEdits); fault != nil {
		return fault
	}
	for _, c := range configChanges {
		if fault := bonnevilleCheckSerialBacking(c.Device); fault != nil {
			return fault
		}
	}
	return nil
}

func bonnevilleCheckSerialBacking(device types.BaseVirtualDevice) types.BaseMethodFault {
	b, ok := device.GetVirtualDevice().Backing.(*types.VirtualSerialPortFileBackingInfo)
	if !ok {
		return &types.InvalidArgument{InvalidProperty: "spec.location.deviceChange.device.backing"}
	}
	var p object.DatastorePath
	if !p.FromString(b.FileName) || p.Path == "" {
		return &types.InvalidArgument{InvalidProperty: "spec.location.deviceChange.device.backing.fileName"}
	}
	return nil
}

// bonnevilleApplySerialChanges applies serial port changes to a fresh clone:
// edits give an existing port a new backing, adds add a port (CloneVM only).
func (vm *VirtualMachine) bonnevilleApplySerialChanges(changes []*types.VirtualDeviceConfigSpec) types.BaseMethodFault {
	if len(changes) == 0 {
		return nil
	}
	devices := object.VirtualDeviceList(vm.Config.Hardware.Device)
	var specs []types.BaseVirtualDeviceConfigSpec
	for _, c := range changes {
		if fault := bonnevilleCheckSerialBacking(c.Device); fault != nil {
			return fault
		}
		switch c.Operation {
		case types.VirtualDeviceConfigSpecOperationEdit:
			current, ok := devices.FindByKey(c.Device.GetVirtualDevice().Key).(*types.VirtualSerialPort)
			if !ok {
				return &types.InvalidArgument{InvalidProperty: "deviceChange.device.key"}
			}
			port := bonnevilleCopyDevice(current).(*types.VirtualSerialPort)
			port.Backing = c.Device.GetVirtualDevice().Backing
			if conn := c.Device.GetVirtualDevice().Connectable; conn != nil {
				cc := *conn
				port.Connectable = &cc
			}
			specs = append(specs, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: port})
		case types.VirtualDeviceConfigSpecOperationAdd:
			specs = append(specs, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: bonnevilleCopyDevice(c.Device)})
		default:
			return &types.NotSupported{}
		}
	}
	return vm.configureDevices(&types.VirtualMachineConfigSpec{DeviceChange: specs})
}

// bonnevilleConsolePath is the local file behind the VM's Bonneville console
// serial port, or "" when it has none.
func bonnevilleConsolePath(vm *VirtualMachine) string {
	for _, d := range vm.Config.Hardware.Device {
		port, ok := d.(*types.VirtualSerialPort)
		if !ok {
			continue
		}
		b, ok := port.Backing.(*types.VirtualSerialPortFileBackingInfo)
		if !ok || path.Base(b.FileName) != bonnevilleConsoleFileName {
			continue
		}
		var p object.DatastorePath
		if !p.FromString(b.FileName) {
			continue
		}
		ds, ok := Map.FindByName(p.Datastore, vm.bonnevilleHostDatastores()).(*Datastore)
		if !ok {
			continue
		}
		return path.Join(ds.Info.GetDatastoreInfo().Url, p.Path)
	}
	return ""
}

func (vm *VirtualMachine) bonnevilleHostDatastores() []types.ManagedObjectReference {
	if vm.Runtime.Host == nil {
		return nil
	}
	host, ok := Map.Get(*vm.Runtime.Host).(*HostSystem)
	if !ok {
		return nil
	}
	return host.Datastore
}

// bonnevilleConsoles runs the simulated containers' output, one run per boot.
var bonnevilleConsoles = struct {
	sync.Mutex
	runs map[types.ManagedObjectReference]int
}{runs: map[types.ManagedObjectReference]int{}}

var bonnevilleExitImage = regexp.MustCompile(`(^|/)bonneville-sim/exit:([0-9]{1,3})$`)

// bonnevilleConsoleBoot is called (with the VM locked) when a VM's simulated
// agent boots: it creates the console file, as the powered-on serial port
// would, and, for a container whose agent reports it running, plays its
// output (see the test hook above). It runs without the lock.
func bonnevilleConsoleBoot(vm *VirtualMachine, container bool) {
	// Without a console port the container runs all the same; its output goes nowhere.
	file := bonnevilleConsolePath(vm)
	if file != "" {
		if f, err := os.OpenFile(file, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err == nil {
			_ = f.Close()
		}
	}
	if !container {
		return
	}
	image, _ := bonnevilleOption(vm, bonnevilleImageKey)
	var words []string
	if raw, ok := bonnevilleOption(vm, "guestinfo.bonneville.command"); ok && raw != "" {
		if text, err := base64.StdEncoding.DecodeString(raw); err == nil {
			_ = json.Unmarshal(text, &words)
		}
	}
	exitCode := -1
	if m := bonnevilleExitImage.FindStringSubmatch(image); m != nil {
		if n, err := strconv.Atoi(m[2]); err == nil && n <= 255 {
			exitCode = n
		}
	}
	ref := vm.Self
	bonnevilleConsoles.Lock()
	bonnevilleConsoles.runs[ref]++
	run := bonnevilleConsoles.runs[ref]
	bonnevilleConsoles.Unlock()
	go bonnevilleConsolePlay(ref, run, file, words, exitCode)
}

// bonnevilleConsoleCurrent is true while run is the VM's latest and it is on.
func bonnevilleConsoleCurrent(ref types.ManagedObjectReference, run int) bool {
	bonnevilleConsoles.Lock()
	latest := bonnevilleConsoles.runs[ref]
	bonnevilleConsoles.Unlock()
	vm, ok := Map.Get(ref).(*VirtualMachine)
	if !ok || latest != run {
		return false
	}
	on := false
	Map.WithLock(vm, func() { on = vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn })
	return on
}

func bonnevilleConsolePlay(ref types.ManagedObjectReference, run int, file string, words []string, exitCode int) {
	for _, w := range words {
		if !bonnevilleConsoleCurrent(ref, run) {
			return
		}
		stream, text := "stdout", w
		switch {
		case strings.HasPrefix(w, "sleep:"):
			if ms, err := strconv.Atoi(strings.TrimPrefix(w, "sleep:")); err == nil && ms > 0 {
				time.Sleep(time.Duration(ms) * time.Millisecond)
			}
			continue
		case strings.HasPrefix(w, "stderr:"):
			stream, text = "stderr", strings.TrimPrefix(w, "stderr:")
		}
		if file != "" {
			bonnevilleConsoleWrite(file, stream, text)
		}
	}
	if exitCode < 0 || !bonnevilleConsoleCurrent(ref, run) {
		return
	}
	vm, ok := Map.Get(ref).(*VirtualMachine)
	if !ok {
		return
	}
	// The agent reports the exit as it does for a stopped container
	// (guest/bonneville-agent, monitor): exitCode first, then status, as the
	// guest sets them (bonneville_guestinfo.go: volatile, never empty).
	Map.WithLock(vm, func() {
		_ = bonnevilleGuestSet(vm,
			[2]string{"guestinfo.bonneville.exitCode", strconv.Itoa(exitCode)},
			[2]string{bonnevilleStatusKey, "exited"})
	})
}

// bonnevilleConsoleWrite appends one record: "<RFC3339Nano UTC> <stream> <text>".
func bonnevilleConsoleWrite(file, stream, text string) {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = fmt.Fprintf(f, "%s %s %s\n", time.Now().UTC().Format(time.RFC3339Nano), stream, text)
}

// serveDatastoreFile is vCenter's datastore file access (/folder/...): a
// session is required; the simulator's own handler serves the file (with
// Range support).
func (f *bonnevilleFront) serveDatastoreFile(w http.ResponseWriter, r *http.Request) {
	if !f.authenticated(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="VMware HTTP server"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	f.next.ServeHTTP(w, r)
}

// bonnevilleReportsRunning is true when the VM's agent reports status=running.
func bonnevilleReportsRunning(vm *VirtualMachine) bool {
	status, _ := bonnevilleOption(vm, bonnevilleStatusKey)
	return status == "running"
}

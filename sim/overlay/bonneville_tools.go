// VMware Tools' own extra-config keys. While Tools runs in a guest it
// publishes keys of its own through the guestinfo channel and refreshes them:
// guestinfo.vmtools.buildNumber, .description, .versionNumber and
// .versionString (Tools' version), and guestinfo.appInfo, the appInfo
// plugin's JSON list of running applications with an update counter and a
// publish time that change at every publish (open-vm-tools README, "appInfo"
// plugin; VMware Tools 11 documentation, "Configuring appInfo"). They appear in
// config.extraConfig like any guest-set key and raise property-collector
// updates, so a watcher of config.extraConfig sees them change while nothing
// it cares about did; vm-operator's watcher ignores them (REAL-VSPHERE.md,
// "Noise"). Here every powered-on VM whose Tools run republishes them each
// period, BONNEVILLE_SIM_TOOLS_REFRESH_MS (default 5000 ms; 0 turns the
// publishing off). Tools' own defaults are slower (appInfo every 30 minutes,
// guest data every 30 s, open-vm-tools tools.conf): a few seconds makes the
// noise show within a test's time.

package simulator

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/vmware/govmomi/vim25/types"
)

// Tools' version as the simulated guests report it (an open-vm-tools release).
const (
	bonnevilleToolsVersion = "12.3.5"
	bonnevilleToolsBuild   = "22544099"
	bonnevilleToolsNumber  = "12357"
)

var (
	bonnevilleToolsOnce    sync.Once
	bonnevilleToolsCounter = map[types.ManagedObjectReference]int{}
)

// bonnevilleToolsPeriod is the refresh period (0: Tools publish nothing).
func bonnevilleToolsPeriod() time.Duration {
	v := os.Getenv("BONNEVILLE_SIM_TOOLS_REFRESH_MS")
	if v == "" {
		return 5 * time.Second
	}
	ms, err := strconv.Atoi(v)
	if err != nil || ms < 0 {
		panic(fmt.Sprintf("BONNEVILLE_SIM_TOOLS_REFRESH_MS must be a number of milliseconds, got %q", v))
	}
	return time.Duration(ms) * time.Millisecond
}

// bonnevilleStartTools starts the periodic publishing (once per process).
func bonnevilleStartTools() {
	bonnevilleToolsOnce.Do(func() {
		period := bonnevilleToolsPeriod()
		if period == 0 {
			return
		}
		go func() {
			for range time.Tick(period) {
				bonnevilleToolsPublish()
			}
		}()
	})
}

// bonnevilleToolsPublish republishes Tools' keys in every VM whose Tools run.
func bonnevilleToolsPublish() {
	for _, e := range Map.All("VirtualMachine") {
		vm, ok := e.(*VirtualMachine)
		if !ok {
			continue
		}
		Map.WithLock(vm, func() {
			if vm.Config == nil || vm.Guest == nil || vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn ||
				vm.Guest.ToolsRunningStatus != string(types.VirtualMachineToolsRunningStatusGuestToolsRunning) {
				return
			}
			bonnevilleToolsCounter[vm.Self]++
			appInfo := fmt.Sprintf(`{"version":"1","updateCounter":"%d","publishTime":"%s","applications":[{"a":"vmtoolsd","v":"%s"},{"a":"bonneville-agent","v":"2"}]}`,
				bonnevilleToolsCounter[vm.Self], time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), bonnevilleToolsVersion)
			keys := []types.OptionValue{
				{Key: "guestinfo.vmtools.buildNumber", Value: bonnevilleToolsBuild},
				{Key: "guestinfo.vmtools.description", Value: "open-vm-tools " + bonnevilleToolsVersion + " build " + bonnevilleToolsBuild},
				{Key: "guestinfo.vmtools.versionNumber", Value: bonnevilleToolsNumber},
				{Key: "guestinfo.vmtools.versionString", Value: bonnevilleToolsVersion},
				{Key: "guestinfo.appInfo", Value: appInfo},
			}
			Map.Update(vm, []types.PropertyChange{{Name: "config.extraConfig", Val: bonnevilleSetOptions(vm.Config.ExtraConfig, keys)}})
		})
	}
}

// bonnevilleSetOptions returns a copy of options with each key set (replaced in place, or appended).
func bonnevilleSetOptions(options []types.BaseOptionValue, set []types.OptionValue) []types.BaseOptionValue {
	out := make([]types.BaseOptionValue, 0, len(options)+len(set))
	at := map[string]int{}
	for _, o := range options {
		at[o.GetOptionValue().Key] = len(out)
		out = append(out, o)
	}
	for i := range set {
		ov := set[i]
		if j, ok := at[ov.Key]; ok {
			out[j] = &ov
			continue
		}
		at[ov.Key] = len(out)
		out = append(out, &ov)
	}
	return out
}

// Tests of the console serial port (sim/overlay/bonneville_console.go): a
// serial port added by CloneVM_Task's config, its backing edited by each
// InstantClone_Task, the simulated agent's output in the file, and vCenter's
// datastore file access that serves it to a session only. Run with sim/test.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/ioutil"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

const consoleSIOKey = 400 // the SIO controller every simulated VM has

func consolePort(key int32, file string) *types.VirtualSerialPort {
	unit := int32(1)
	return &types.VirtualSerialPort{
		VirtualDevice: types.VirtualDevice{
			Key:           key,
			Backing:       &types.VirtualSerialPortFileBackingInfo{VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: file}},
			Connectable:   &types.VirtualDeviceConnectInfo{StartConnected: true, Connected: true},
			ControllerKey: consoleSIOKey,
			UnitNumber:    &unit,
		},
		YieldOnPoll: true,
	}
}

// consoleParent clones the template into a powered-on parent whose CloneVM
// config adds a console serial port.
func consoleParent(t *testing.T, c *govmomi.Client, inv *inventory) (types.ManagedObjectReference, string) {
	t.Helper()
	ctx := testContext(t)
	name := uniqueName("console-parent")
	pool := inv.pool.Reference()
	host := inv.hosts[0]
	tmpl := object.NewVirtualMachine(c.Client, inv.template.Self)
	task, err := tmpl.Clone(ctx, inv.vmFolder, name, types.VirtualMachineCloneSpec{
		Location: types.VirtualMachineRelocateSpec{Pool: &pool, Host: &host},
		Config: &types.VirtualMachineConfigSpec{DeviceChange: []types.BaseVirtualDeviceConfigSpec{
			&types.VirtualDeviceConfigSpec{
				Operation: types.VirtualDeviceConfigSpecOperationAdd,
				Device:    consolePort(-1, fmt.Sprintf("[LocalDS_0] %s/bonneville-console.log", name)),
			},
		}},
		PowerOn: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		t.Fatalf("clone with a serial port: %v", err)
	}
	return info.Result.(types.ManagedObjectReference), name
}

func serialPorts(t *testing.T, c *govmomi.Client, ref types.ManagedObjectReference) []*types.VirtualSerialPort {
	var out []*types.VirtualSerialPort
	for _, d := range getVM(t, c, ref).Config.Hardware.Device {
		if p, ok := d.(*types.VirtualSerialPort); ok {
			out = append(out, p)
		}
	}
	return out
}

func backingFile(p *types.VirtualSerialPort) string {
	if b, ok := p.Backing.(*types.VirtualSerialPortFileBackingInfo); ok {
		return b.FileName
	}
	return ""
}

// folderGet reads a datastore file through /folder, with the session of c
// (nil: none) and an optional Range header.
func folderGet(t *testing.T, c *govmomi.Client, path, rangeHeader string) (int, string) {
	t.Helper()
	u := *sim.URL
	u.Path = "/folder/" + path
	u.RawQuery = url.Values{"dcPath": {"DC0"}, "dsName": {"LocalDS_0"}}.Encode()
	req, err := http.NewRequest(http.MethodGet, u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rangeHeader != "" {
		req.Header.Set("Range", rangeHeader)
	}
	client := controlClient
	if c != nil {
		client = &c.Client.Client.Client
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := ioutil.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

var consoleRecord = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z (stdout|stderr) (.*)$`)

func TestInstantCloneEditsTheConsolePortToItsOwnFileAndTheAgentWritesTheContainersOutputThere(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	parentRef, parentName := consoleParent(t, c, inv)
	ports := serialPorts(t, c, parentRef)
	if len(ports) != 1 || backingFile(ports[0]) != fmt.Sprintf("[LocalDS_0] %s/bonneville-console.log", parentName) {
		t.Fatalf("the parent should have one serial port on its own console file, got %d: %v", len(ports), ports)
	}
	eventually(t, 5*time.Second, "the parent to be ready", func() bool {
		o, _ := options(getVM(t, c, parentRef))
		return o["guestinfo.bonneville.ready"] == "true"
	})

	name := uniqueName("console-child")
	command, _ := json.Marshal([]string{"one", "stderr:two", "three"})
	spec := imageSpec(name,
		&types.OptionValue{Key: "guestinfo.bonneville.command", Value: base64.StdEncoding.EncodeToString(command)})
	spec.Config[0] = &types.OptionValue{Key: "guestinfo.bonneville.image", Value: "bonneville-sim/exit:7"}
	edit := consolePort(ports[0].Key, fmt.Sprintf("[LocalDS_0] %s/bonneville-console.log", name))
	spec.Location.DeviceChange = []types.BaseVirtualDeviceConfigSpec{
		&types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: edit},
	}
	child, err := instantClone(ctx, c, parentRef, spec)
	if err != nil {
		t.Fatalf("instant clone with a serial port edit: %v", err)
	}
	if got := backingFile(serialPorts(t, c, child)[0]); got != fmt.Sprintf("[LocalDS_0] %s/bonneville-console.log", name) {
		t.Fatalf("the child's port should write its own file, got %q", got)
	}
	if got := backingFile(serialPorts(t, c, parentRef)[0]); !strings.Contains(got, parentName+"/") {
		t.Fatalf("the parent's port must stay on its own file, got %q", got)
	}
	eventually(t, 5*time.Second, "the container to exit", func() bool {
		o, _ := options(getVM(t, c, child))
		return o["guestinfo.bonneville.status"] == "exited"
	})
	o, _ := options(getVM(t, c, child))
	if o["guestinfo.bonneville.exitCode"] != "7" {
		t.Fatalf("exitCode = %q, want 7", o["guestinfo.bonneville.exitCode"])
	}

	file := name + "/bonneville-console.log"
	status, body := folderGet(t, c, file, "")
	if status != http.StatusOK {
		t.Fatalf("GET /folder/%s with a session: %d", file, status)
	}
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	var got []string
	for _, line := range lines {
		m := consoleRecord.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not a console record: %q", line)
		}
		got = append(got, m[2]+" "+m[3])
	}
	if want := []string{"stdout one", "stderr two", "stdout three"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("records = %v, want %v", got, want)
	}
	first := len(lines[0]) + 1
	status, rest := folderGet(t, c, file, fmt.Sprintf("bytes=%d-", first))
	if status != http.StatusPartialContent || rest != body[first:] {
		t.Fatalf("a Range read from byte %d: %d %q, want 206 %q", first, status, rest, body[first:])
	}
	if status, _ := folderGet(t, c, file, fmt.Sprintf("bytes=%d-", len(body))); status != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("a Range read at the end: %d, want 416", status)
	}
	if status, _ := folderGet(t, nil, file, ""); status != http.StatusUnauthorized {
		t.Fatalf("GET /folder without a session: %d, want 401", status)
	}
}

func TestInstantCloneRejectsAnAddedSerialPortAndANonFileBacking(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	ctx := testContext(t)
	parentRef, _ := consoleParent(t, c, inv)
	port := serialPorts(t, c, parentRef)[0]
	uri := consolePort(port.Key, "")
	uri.Backing = &types.VirtualSerialPortURIBackingInfo{VirtualDeviceURIBackingInfo: types.VirtualDeviceURIBackingInfo{Direction: "server", ServiceURI: "tcp://:7000"}}
	for _, tc := range []struct {
		what   string
		change *types.VirtualDeviceConfigSpec
	}{
		{"an added serial port", &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: consolePort(-1, "[LocalDS_0] x/bonneville-console.log")}},
		{"a network-backed serial port", &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: uri}},
	} {
		name := uniqueName("badserial")
		spec := imageSpec(name)
		spec.Location.DeviceChange = []types.BaseVirtualDeviceConfigSpec{tc.change}
		_, err := instantClone(ctx, c, parentRef, spec)
		wantFault(t, tc.what, err, "InvalidArgument")
		if n := childNames(t, c, inv.vmFolder.Reference())[name]; n != 0 {
			t.Fatalf("%s: a rejected clone must leave no VM behind, found %d", tc.what, n)
		}
	}
}

// Command bonneville-sim serves Bonneville's embedded vSphere: a vCenter model
// (one datacenter, a cluster of three ESXi hosts (BONNEVILLE_SIM_HOSTS), a distributed switch with two
// port groups, a datastore and a source template) on loopback over HTTPS, with
// InstantClone_Task, a simulated guest agent, and fault injection.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// The source template every ParentTemplate is cloned from.
const sourceTemplateName = "bonneville-source"

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func envMillis(name string, fallback int) time.Duration {
	v, err := strconv.Atoi(env(name, strconv.Itoa(fallback)))
	if err != nil || v < 0 {
		log.Fatalf("%s must be a number of milliseconds, got %q", name, os.Getenv(name))
	}
	return time.Duration(v) * time.Millisecond
}

func envCount(name string, fallback int) int {
	v, err := strconv.Atoi(env(name, strconv.Itoa(fallback)))
	if err != nil || v < 1 || v > 64 {
		log.Fatalf("%s must be a whole number from 1 to 64, got %q", name, os.Getenv(name))
	}
	return v
}

// selfSignedCertificate makes a fresh key and certificate for loopback, so
// every run has its own thumbprint, as a real vCenter's self-signed one does.
func selfSignedCertificate(host string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "bonneville-sim", Organization: []string{"Bonneville embedded vSphere"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	if ip := net.ParseIP(host); ip != nil && !ip.IsLoopback() {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func thumbprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// seed adds what the model lacks: the source template, marked as template,
// with one NIC on the first port group and the guest agent installed.
func seed(ctx context.Context, u *url.URL) error {
	c, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		return err
	}
	defer func() { _ = c.Logout(ctx) }()

	finder := find.NewFinder(c.Client, true)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		return err
	}
	finder.SetDatacenter(dc)
	folders, err := dc.Folders(ctx)
	if err != nil {
		return err
	}
	pool, err := finder.ResourcePool(ctx, "DC0_C0/Resources")
	if err != nil {
		return err
	}
	hosts, err := finder.HostSystemList(ctx, "DC0_C0/*")
	if err != nil {
		return err
	}
	pg, err := finder.Network(ctx, "DC0_DVPG0")
	if err != nil {
		return err
	}
	backing, err := pg.EthernetCardBackingInfo(ctx)
	if err != nil {
		return err
	}
	nic, err := object.EthernetCardTypes().CreateEthernetCard("vmxnet3", backing)
	if err != nil {
		return err
	}
	devices := object.VirtualDeviceList{}
	scsi, err := devices.CreateSCSIController("pvscsi")
	if err != nil {
		return err
	}
	devices = append(devices, scsi)
	disk := devices.CreateDisk(scsi.(types.BaseVirtualController), types.ManagedObjectReference{}, "")
	disk.CapacityInKB = 8 * 1024 * 1024
	devices = append(devices, disk, nic)
	deviceChange, err := devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
	if err != nil {
		return err
	}
	for _, d := range deviceChange {
		if _, ok := d.GetVirtualDeviceConfigSpec().Device.(*types.VirtualDisk); ok {
			d.GetVirtualDeviceConfigSpec().FileOperation = types.VirtualDeviceConfigSpecFileOperationCreate
		}
	}
	spec := types.VirtualMachineConfigSpec{
		Name:         sourceTemplateName,
		GuestId:      string(types.VirtualMachineGuestOsIdentifierOtherLinux64Guest),
		NumCPUs:      2,
		MemoryMB:     2048,
		Files:        &types.VirtualMachineFileInfo{VmPathName: "[LocalDS_0]"},
		DeviceChange: deviceChange,
		Annotation:   "Bonneville source template: Linux with a container runtime and the Bonneville guest agent.",
		ExtraConfig: []types.BaseOptionValue{
			&types.OptionValue{Key: "guestinfo.bonneville.agentVersion", Value: "2"},
		},
	}
	host := hosts[0].Reference()
	task, err := folders.VmFolder.CreateVM(ctx, spec, pool, hosts[0])
	if err != nil {
		return err
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		return fmt.Errorf("create source template: %w", err)
	}
	vm := object.NewVirtualMachine(c.Client, info.Result.(types.ManagedObjectReference))
	_ = host
	return vm.MarkAsTemplate(ctx)
}

// errPortTaken: the configured port is in use (the simulator's own listener would panic).
type errPortTaken struct{ host, port string }

func (e errPortTaken) Error() string {
	return fmt.Sprintf("port %s on %s is taken: set BONNEVILLE_SIM_PORT to a free port, or BONNEVILLE_SIM_PORT=0 to pick one", e.port, e.host)
}

// portFree checks that the port can be listened on (port 0 always can).
func portFree(host, port string) error {
	if port == "0" {
		return nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return errPortTaken{host, port}
		}
		return fmt.Errorf("listen on %s: %w", net.JoinHostPort(host, port), err)
	}
	return l.Close()
}

// config is what a simulator instance is started with.
type config struct {
	Host, Port     string
	User, Password string
	// ReadyDelay is how long a powered-on parent takes to signal ready;
	// CloneBoot how long an instant clone takes to report its container.
	ReadyDelay, CloneBoot time.Duration
	// ToolsNetRefresh is how often simulated VMware Tools polls a guest's
	// network (30 s, as Tools; 0 means that default).
	ToolsNetRefresh time.Duration
	// Hosts is the number of ESXi hosts in the cluster (default 3).
	Hosts int
}

// configFromEnv reads the BONNEVILLE_SIM_* environment (see sim/run).
func configFromEnv() config {
	return config{
		Host:       env("BONNEVILLE_SIM_HOST", "127.0.0.1"),
		Port:       env("BONNEVILLE_SIM_PORT", "8989"),
		User:       env("BONNEVILLE_SIM_USER", "administrator@vsphere.local"),
		Password:   env("BONNEVILLE_SIM_PASSWORD", "sim-Pa55-7f3a"),
		ReadyDelay: envMillis("BONNEVILLE_SIM_READY_MS", 300),
		CloneBoot:  envMillis("BONNEVILLE_SIM_CLONE_BOOT_MS", 50),
		// open-vm-tools guestInfoServer.c polls the network every 30 s.
		ToolsNetRefresh: envMillis("BONNEVILLE_SIM_TOOLS_NET_REFRESH_MS", 30000),
		Hosts:           envCount("BONNEVILLE_SIM_HOSTS", 3),
	}
}

// instance is a serving simulator.
type instance struct {
	Server *simulator.Server
	// URL is the SDK endpoint, without credentials.
	URL        *url.URL
	User       string
	Password   string
	Thumbprint string
	close      func()
}

// Close stops the server and removes the model's files.
func (i *instance) Close() { i.close() }

// serve builds the inventory, starts serving it over HTTPS and seeds the
// source template. The simulator's object registry is process-wide, so a
// process serves one instance at a time.
func serve(cfg config) (*instance, error) {
	simulator.SetBonnevilleGuestTiming(cfg.ReadyDelay, cfg.CloneBoot)
	simulator.SetBonnevilleToolsRefresh(cfg.ToolsNetRefresh)

	model := simulator.VPX()
	model.Datacenter = 1
	model.Cluster = 1
	model.ClusterHost = 3
	if cfg.Hosts > 0 {
		model.ClusterHost = cfg.Hosts
	}
	model.Host = 0
	model.Machine = 0
	model.Portgroup = 2
	model.Datastore = 1
	model.Pool = 0
	model.App = 0
	// Datastore directories of simulators that were killed (sim/overlay/bonneville_leftovers.go).
	simulator.BonnevilleCleanStaleModelDirs()
	if err := model.Create(); err != nil {
		model.Remove()
		return nil, fmt.Errorf("create model: %w", err)
	}
	removeModel := func() {
		model.Remove()
		simulator.BonnevilleForgetModelDirs()
	}
	if err := simulator.BonnevilleRecordModelDirs(model); err != nil {
		removeModel()
		return nil, fmt.Errorf("record the datastore directories: %w", err)
	}

	if err := portFree(cfg.Host, cfg.Port); err != nil {
		removeModel()
		return nil, err
	}

	cert, err := selfSignedCertificate(cfg.Host)
	if err != nil {
		removeModel()
		return nil, fmt.Errorf("certificate: %w", err)
	}
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	model.Service.Listen = &url.URL{Host: net.JoinHostPort(cfg.Host, cfg.Port), User: url.UserPassword(cfg.User, cfg.Password)}

	server := model.Service.NewServer()
	simulator.InstallBonneville(model.Service, server)
	closeAll := func() {
		simulator.BonnevilleNetnsStop()
		server.Close()
		removeModel()
	}
	if err := simulator.BonnevilleNetnsStart(); err != nil {
		closeAll()
		return nil, err
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := seed(ctx, server.URL); err != nil {
		closeAll()
		return nil, fmt.Errorf("seed inventory: %w", err)
	}
	simulator.ApplyBonnevilleModes()

	u := *server.URL
	u.User = nil
	return &instance{
		Server:     server,
		URL:        &u,
		User:       cfg.User,
		Password:   cfg.Password,
		Thumbprint: thumbprint(cert.Certificate[0]),
		close:      closeAll,
	}, nil
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--rpctool" {
		// vmware-rpctool inside a namespace-backed VM (sim/netns/stand-ins/vmware-rpctool)
		os.Exit(simulator.BonnevilleRPCTool(os.Args[2:]))
	}
	log.SetPrefix("bonneville-sim: ")
	log.SetFlags(0)

	cfg := configFromEnv()
	if os.Getenv("BONNEVILLE_SIM_TRACE") == "" {
		// The simulator logs every WaitForUpdates timeout; keep stderr useful.
		log.SetOutput(os.Stderr)
	}

	sim, err := serve(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()

	// Listen for the stop signals before saying READY: a SIGTERM right after it would otherwise end the
	// process without the deferred Close (its datastore directories and namespaces left behind).
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)

	fmt.Printf("BONNEVILLE_SIM_READY url=%s user=%s password=%s thumbprint=%s\n",
		sim.URL.String(), sim.User, sim.Password, sim.Thumbprint)
	os.Stdout.Sync()
	<-signals
}

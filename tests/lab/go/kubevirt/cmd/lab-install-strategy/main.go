// Command lab-install-strategy prints, as JSON, what virt-operator would
// install for a KubeVirt CR: the objects come from KubeVirt's own
// install-strategy code (install.GenerateCurrentInstallStrategy and
// components.NewKubeVirtCrd), so the lab's CRDs, RBAC, webhooks and
// APIServices are exactly those of the KubeVirt version it runs.
//
// Output: {"version": ..., "objects": {"<Kind>": [objects...]}}. Deployments,
// the DaemonSet and certificate Secrets are left out: the lab runs virt-api and
// virt-controller as processes and issues certificates from its own CA.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	v1 "kubevirt.io/api/core/v1"

	"kubevirt.io/kubevirt/pkg/virt-operator/resource/generate/components"
	"kubevirt.io/kubevirt/pkg/virt-operator/resource/generate/install"
	operatorutil "kubevirt.io/kubevirt/pkg/virt-operator/util"
)

func main() {
	namespace := flag.String("namespace", "kubevirt", "namespace KubeVirt is installed in")
	version := flag.String("version", "", "KubeVirt version (the image tag virt-operator would use)")
	flag.Parse()
	if err := run(*namespace, *version); err != nil {
		fmt.Fprintln(os.Stderr, "lab-install-strategy:", err)
		os.Exit(1)
	}
}

func run(namespace, version string) error {
	kv := &v1.KubeVirt{
		ObjectMeta: metav1.ObjectMeta{Name: "kubevirt", Namespace: namespace},
		// No image is ever pulled in the lab; the registry only has to parse.
		Spec: v1.KubeVirtSpec{ImageRegistry: "registry.lab.invalid", ImageTag: version},
	}
	config := operatorutil.GetTargetConfigFromKV(kv)
	// No monitoring namespace: no ServiceMonitor or PrometheusRule.
	strategy, err := install.GenerateCurrentInstallStrategy(config, "", namespace)
	if err != nil {
		return fmt.Errorf("generating the install strategy: %w", err)
	}
	kubevirtCrd, err := components.NewKubeVirtCrd()
	if err != nil {
		return fmt.Errorf("generating the KubeVirt CRD: %w", err)
	}
	objects := map[string]any{
		"CustomResourceDefinition":         append(strategy.CRDs(), kubevirtCrd),
		"ServiceAccount":                   strategy.ServiceAccounts(),
		"ClusterRole":                      strategy.ClusterRoles(),
		"ClusterRoleBinding":               strategy.ClusterRoleBindings(),
		"Role":                             strategy.Roles(),
		"RoleBinding":                      strategy.RoleBindings(),
		"Service":                          strategy.Services(),
		"ConfigMap":                        strategy.ConfigMaps(),
		"ValidatingWebhookConfiguration":   strategy.ValidatingWebhookConfigurations(),
		"MutatingWebhookConfiguration":     strategy.MutatingWebhookConfigurations(),
		"APIService":                       strategy.APIServices(),
		"ValidatingAdmissionPolicy":        strategy.ValidatingAdmissionPolicies(),
		"ValidatingAdmissionPolicyBinding": strategy.ValidatingAdmissionPolicyBindings(),
	}
	encoder := json.NewEncoder(os.Stdout)
	encoder.SetIndent("", " ")
	return encoder.Encode(map[string]any{"version": version, "objects": objects})
}

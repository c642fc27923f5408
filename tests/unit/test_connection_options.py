"""The shared connection options: environment fallbacks, secrets, clear errors."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils._ansible.args import connection_argument_spec
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients import k8s_client, ovirt_client
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError

# The directory that holds ansible_collections/, as the collection is imported.
COLLECTIONS = str(Path(ovirt_client.__file__).parents[6])

ENV = {
    "OVIRT_URL": "https://engine.test/ovirt-engine/api",
    "OVIRT_USERNAME": "admin@internal",
    "OVIRT_PASSWORD": "ovirt-secret-1",
    "OVIRT_CAFILE": "/etc/ovirt-ca.pem",
    "OVIRT_INSECURE": "false",
    "K8S_AUTH_HOST": "https://127.0.0.1:6443",
    "K8S_AUTH_API_KEY": "k8s-secret-2",
    "K8S_AUTH_SSL_CA_CERT": "/etc/k8s-ca.pem",
    "K8S_AUTH_VERIFY_SSL": "true",
}


def validate(params, monkeypatch, env=None):
    if env is None:
        env = ENV
    for key in list(ENV):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = ArgumentSpecValidator(connection_argument_spec()).validate(params)
    assert not result.error_messages, result.error_messages
    return result


def test_environment_fills_every_connection_option(monkeypatch):
    result = validate({}, monkeypatch)
    auth = result.validated_parameters["auth"]
    assert auth["url"] == ENV["OVIRT_URL"]
    assert auth["username"] == "admin@internal"
    assert auth["password"] == "ovirt-secret-1"
    assert auth["ca_file"] == "/etc/ovirt-ca.pem"
    assert auth["insecure"] is False
    params = result.validated_parameters
    assert params["host"] == "https://127.0.0.1:6443"
    assert params["api_key"] == "k8s-secret-2"
    assert params["ca_cert"] == "/etc/k8s-ca.pem"
    assert params["validate_certs"] is True


def test_explicit_options_win_over_environment(monkeypatch):
    result = validate({"auth": {"url": "https://other/ovirt-engine/api"}, "host": "https://h:1"}, monkeypatch)
    assert result.validated_parameters["auth"]["url"] == "https://other/ovirt-engine/api"
    assert result.validated_parameters["auth"]["password"] == "ovirt-secret-1"
    assert result.validated_parameters["host"] == "https://h:1"


def test_secrets_are_no_log(monkeypatch):
    result = validate({"kubeconfig": "/root/kc"}, monkeypatch)
    assert {"ovirt-secret-1", "k8s-secret-2", "/root/kc"} <= set(result._no_log_values)


def test_tls_is_verified_unless_turned_off(monkeypatch):
    result = validate({}, monkeypatch, env={"OVIRT_URL": "https://e/api"})
    assert result.validated_parameters["auth"]["insecure"] is False
    assert result.validated_parameters["validate_certs"] is None
    assert ovirt_client.connection_warnings(result.validated_parameters["auth"]) == []
    assert k8s_client.connection_warnings({"validate_certs": False}) != []
    assert ovirt_client.connection_warnings({"insecure": True}) != []


@pytest.mark.parametrize(
    "auth, message",
    [
        ({}, "no oVirt engine URL"),
        ({"url": "https://e/api"}, "no oVirt credentials"),
        ({"url": "https://e/api", "username": "u"}, "no oVirt credentials"),
    ],
)
def test_missing_ovirt_auth_is_named(auth, message):
    with pytest.raises(InputError, match=message):
        ovirt_client.check_auth(auth)


def test_token_alone_is_enough():
    assert ovirt_client.check_auth({"url": "https://e/api", "token": "t"})["token"] == "t"


def bearer(configuration):
    """The Authorization header the client will send."""
    return configuration.auth_settings()["BearerToken"]["value"]


def test_k8s_explicit_host_token_and_ca(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # no default kubeconfig
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    conf = k8s_client.build_configuration(
        {"host": "https://127.0.0.1:6443/", "api_key": "tok", "ca_cert": str(ca), "validate_certs": None}
    )
    assert conf.host == "https://127.0.0.1:6443"
    assert bearer(conf) == "Bearer tok"
    assert conf.ssl_ca_cert == str(ca)
    assert conf.verify_ssl is True


def test_k8s_inline_kubeconfig_with_context(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "a", "cluster": {"server": "https://a:1"}},
            {"name": "b", "cluster": {"server": "https://b:2"}},
        ],
        "users": [{"name": "u", "user": {"token": "tok-b"}}],
        "contexts": [
            {"name": "ca", "context": {"cluster": "a", "user": "u"}},
            {"name": "cb", "context": {"cluster": "b", "user": "u"}},
        ],
        "current-context": "ca",
    }
    conf = k8s_client.build_configuration({"kubeconfig": kubeconfig, "context": "cb"})
    assert conf.host == "https://b:2"
    assert bearer(conf) == "Bearer tok-b"


def test_k8s_missing_kubeconfig_file_is_named(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        k8s_client.build_configuration({"kubeconfig": str(tmp_path / "nope")})


def test_k8s_nothing_configured_says_what_to_set(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(InputError, match="K8S_AUTH_HOST"):
        k8s_client.build_configuration({})


@pytest.mark.parametrize("blocked, named", [("pycurl", "pycurl"), ("ovirtsdk4", "ovirt-engine-sdk-python")])
def test_missing_sdk_or_pycurl_is_named(blocked, named):
    # A fresh interpreter where the library cannot be imported, as on a bare host.
    code = textwrap.dedent(f"""
        import sys
        sys.modules[{blocked!r}] = None
        sys.path.insert(0, {COLLECTIONS!r})
        from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients import ovirt_client
        try:
            ovirt_client.require_ovirtsdk()
        except Exception as exc:
            print(type(exc).__name__, exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("MissingLibraryError")
    assert repr(named) in out

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Safe domxml parsing: hostile documents are refused before anything is expanded or fetched."""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import (
    HostileInputError,
    InputError,
    MissingLibraryError,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml import parse
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.parse import (
    DEFAULT_MAX_BYTES,
    parse_domxml,
    scaled_kib,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "domxml"
SAMPLES = sorted(DATA.glob("*.xml"))
MINIMAL = "<domain type='kvm'><name>a</name><memory unit='MiB'>512</memory><vcpu>2</vcpu>{body}</domain>"
COLLECTIONS = str(Path(parse.__file__).parents[6])


class ListeningServer:
    """A TCP listener that counts connections, to prove nothing reaches the network."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while self.running:
            try:
                conn, unused_address = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> int:
        time.sleep(0.3)  # let a late connection arrive before counting
        self.running = False
        self.thread.join()
        self.sock.close()
        return self.connections


@pytest.fixture
def server():
    listener = ListeningServer()
    yield listener
    listener.running = False


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_every_sample_parses_to_its_domain_root(path):
    root = parse_domxml(path.read_bytes())
    assert root.tag == "domain"
    assert root.find("name").text


def test_xxe_to_a_local_file_is_refused_without_reading_it(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-1234")
    document = f'<!DOCTYPE domain [<!ENTITY xxe SYSTEM "file://{secret}">]>' + MINIMAL.format(body="<description>&xxe;</description>")
    with pytest.raises(HostileInputError) as raised:
        parse_domxml(document)
    assert "declares a DOCTYPE; entity and DTD processing is refused" in str(raised.value)
    assert "TOP-SECRET" not in str(raised.value)


def test_xxe_to_http_is_refused_and_no_connection_is_made(server):
    url = f"http://127.0.0.1:{server.port}/steal"
    document = f'<!DOCTYPE domain [<!ENTITY xxe SYSTEM "{url}">]>' + MINIMAL.format(body="<title>&xxe;</title>")
    with pytest.raises(HostileInputError, match="DOCTYPE"):
        parse_domxml(document)
    assert server.close() == 0


def test_external_dtd_is_refused_and_never_fetched(server):
    document = f'<!DOCTYPE domain SYSTEM "http://127.0.0.1:{server.port}/domain.dtd">' + MINIMAL.format(body="")
    with pytest.raises(HostileInputError, match="DOCTYPE"):
        parse_domxml(document)
    assert server.close() == 0


def test_billion_laughs_is_refused_at_once():
    entities = ['<!ENTITY lol "lol">'] + [f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10)]
    document = "<!DOCTYPE domain [" + "".join(entities) + "]>" + MINIMAL.format(body="<description>&lol9;</description>")
    start = time.perf_counter()
    with pytest.raises(HostileInputError, match="DOCTYPE"):
        parse_domxml(document)
    assert time.perf_counter() - start < 0.5


def test_parameter_entities_are_refused():
    document = '<!DOCTYPE domain [<!ENTITY % ext SYSTEM "http://127.0.0.1:9/x"> %ext;]>' + MINIMAL.format(body="")
    with pytest.raises(HostileInputError, match="DOCTYPE"):
        parse_domxml(document)


def test_a_stray_entity_declaration_is_named_as_such():
    with pytest.raises(HostileInputError, match="declares an ENTITY"):
        parse_domxml('<!ENTITY x "y">' + MINIMAL.format(body=""))


def test_doctype_is_refused_whatever_its_case_or_spacing():
    with pytest.raises(HostileInputError, match="DOCTYPE"):
        parse_domxml("<! doctype domain>" + MINIMAL.format(body=""))


def test_undeclared_entity_reference_is_not_well_formed_and_not_expanded():
    with pytest.raises(InputError, match="not well-formed") as raised:
        parse_domxml(MINIMAL.format(body="<description>&passwd;</description>"))
    assert not isinstance(raised.value, HostileInputError)


def test_oversized_document_is_refused_with_sizes_named():
    document = MINIMAL.format(body="<description>" + "x" * DEFAULT_MAX_BYTES + "</description>")
    with pytest.raises(HostileInputError) as raised:
        parse_domxml(document)
    size = len(document.encode())
    assert f"domxml is {size} bytes, more than the limit of {DEFAULT_MAX_BYTES} bytes" in str(raised.value)
    assert raised.value.details == {"size": size, "limit": DEFAULT_MAX_BYTES}


def test_size_limit_is_configurable():
    document = MINIMAL.format(body="<description>" + "x" * 2000 + "</description>")
    with pytest.raises(HostileInputError, match="limit of 1000 bytes"):
        parse_domxml(document, max_bytes=1000)
    assert parse_domxml(document, max_bytes=4000).tag == "domain"


def test_invalid_utf8_is_refused_with_its_offset():
    document = MINIMAL.format(body="<description>caf").encode() + b"\xe9</description></domain>"
    with pytest.raises(InputError) as raised:
        parse_domxml(document)
    offset = document.index(b"\xe9")
    assert f"domxml is not valid UTF-8: byte 0xe9 at offset {offset}" in str(raised.value)


def test_a_declared_encoding_other_than_utf8_is_refused():
    document = b'<?xml version="1.0" encoding="ISO-8859-1"?>' + MINIMAL.format(body="").encode()
    with pytest.raises(InputError, match="declares encoding 'ISO-8859-1'; only UTF-8 is accepted"):
        parse_domxml(document)


def test_utf8_declaration_and_non_ascii_text_are_fine():
    document = '<?xml version="1.0" encoding="UTF-8"?>' + MINIMAL.format(body="<description>Ünïcödé ✓</description>")
    root = parse_domxml(document.encode())
    assert root.find("description").text == "Ünïcödé ✓"


def test_wrong_root_is_refused():
    with pytest.raises(InputError, match=r"domxml root element is <network>, expected <domain>"):
        parse_domxml("<network><name>default</name></network>")


def test_namespaced_domain_root_is_not_a_domain():
    with pytest.raises(InputError, match="expected <domain>"):
        parse_domxml('<domain xmlns="urn:x"><memory>1</memory><vcpu>1</vcpu></domain>')


def test_missing_memory_is_refused():
    with pytest.raises(InputError, match=r"domxml has no <memory> element"):
        parse_domxml("<domain><name>a</name><vcpu>1</vcpu></domain>")


def test_missing_vcpu_is_refused():
    with pytest.raises(InputError, match=r"domxml has no <vcpu> element"):
        parse_domxml("<domain><name>a</name><memory>1024</memory></domain>")


@pytest.mark.parametrize(
    "memory, vcpu, message",
    [
        ("<memory>lots</memory>", "<vcpu>1</vcpu>", "<memory> is not an integer: 'lots'"),
        ("<memory unit='parsecs'>1</memory>", "<vcpu>1</vcpu>", "unknown unit 'parsecs'"),
        ("<memory>0</memory>", "<vcpu>1</vcpu>", "<memory> must be positive"),
        ("<memory>1024</memory>", "<vcpu>two</vcpu>", "<vcpu> is not an integer: 'two'"),
        ("<memory>1024</memory>", "<vcpu>0</vcpu>", "<vcpu> must be positive, got 0"),
    ],
)
def test_unusable_memory_or_vcpu_is_refused(memory, vcpu, message):
    with pytest.raises(InputError) as raised:
        parse_domxml(f"<domain>{memory}{vcpu}</domain>")
    assert message in str(raised.value)


def test_not_well_formed_xml_is_refused():
    with pytest.raises(InputError, match="domxml is not well-formed XML"):
        parse_domxml("<domain><memory>1</memory><vcpu>1</vcpu>")


def test_input_of_another_type_is_refused():
    with pytest.raises(InputError, match="domxml must be a string or bytes, got int"):
        parse_domxml(42)


@pytest.mark.parametrize(
    "text, unit, kib",
    [("1048576", None, 1048576), ("1", "GiB", 1048576), ("512", "M", 524288), ("1073741824", "b", 1048576), ("1000", "KB", 976)],
)
def test_scaled_integers_convert_to_kib(text, unit, kib):
    assert scaled_kib(text, unit, "memory") == kib


def test_missing_lxml_is_reported_only_when_used(monkeypatch):
    monkeypatch.setattr(parse, "etree", None)
    monkeypatch.setattr(parse, "LXML_IMPORT_ERROR", "No module named 'lxml'")
    with pytest.raises(MissingLibraryError) as raised:
        parse_domxml(MINIMAL.format(body=""))
    assert raised.value.library == "lxml"
    assert "pip install lxml" in str(raised.value)


def test_the_cores_import_without_lxml_or_jmespath():
    # As ansible-test's import sanity test does: no third-party libraries at all.
    code = (
        "import sys\n"
        "sys.modules['lxml'] = None\nsys.modules['jmespath'] = None\n"
        f"sys.path.insert(0, {COLLECTIONS!r})\n"
        "from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml import (\n"
        "    parse, read, build, placeholders, representation, xml_text)\n"
        "from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt import (\n"
        "    vm_manifest, passthrough, passthrough_hook)\n"
        "from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.model import vm_query\n"
        "from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import MissingLibraryError\n"
        "for call in (lambda: parse.parse_domxml('<domain/>'), lambda: vm_query.select({}, 'a')):\n"
        "    try:\n        call()\n    except MissingLibraryError as exc:\n        print(exc.library)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["lxml", "jmespath"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_fuzz_random_bytes_only_ever_raise_input_errors(data):
    try:
        root = parse_domxml(data)
    except InputError:
        return
    assert root.tag == "domain"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SAMPLES),
    st.lists(st.tuples(st.integers(min_value=0), st.binary(min_size=0, max_size=8)), min_size=1, max_size=4),
)
def test_fuzz_mutated_samples_parse_or_fail_cleanly(path, mutations):
    data = bytearray(path.read_bytes())
    for position, replacement in mutations:
        at = position % (len(data) + 1)
        data[at:at + len(replacement)] = replacement
    try:
        root = parse_domxml(bytes(data))
    except InputError as exc:
        assert str(exc).startswith("domxml ")
        return
    assert root.tag == "domain"
    assert root.find("memory") is not None and root.find("vcpu") is not None

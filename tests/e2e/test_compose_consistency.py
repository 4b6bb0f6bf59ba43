"""The Docker stack (docker-compose.yml, Dockerfile) must stay the same stack as the native one
(scripts/stack.sh), with deploy/stack.env as the single source of their shared settings.

No Docker is needed: the files are parsed (PyYAML when installed, else a small parser for the
YAML subset docker-compose.yml uses), and the shell snippets that compose runs inside containers
are executed here with stub programs, with the environment Compose would give them.

    python3 -m unittest tests/e2e/test_compose_consistency.py
"""

import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COMPOSE = os.path.join(REPO, "docker-compose.yml")
STACK_ENV = os.path.join(REPO, "deploy", "stack.env")
STACK_ENV_REL = "deploy/stack.env"
STACK_SH = os.path.join(REPO, "scripts", "stack.sh")
DEPS_SH = os.path.join(REPO, "scripts", "deps.sh")
DOCKERFILE = os.path.join(REPO, "Dockerfile")
MAKEFILE = os.path.join(REPO, "Makefile")
KAFKA_POM = os.path.join(REPO, "tools", "kafka", "pom.xml")

# Native stack component -> compose service doing the same job.
COUNTERPART = {"topics": "kafka-init"}
REQUIRED_ENV_KEYS = {
    "QUARRY_KAFKA_TOPIC", "QUARRY_KAFKA_DLQ_TOPIC", "QUARRY_KAFKA_PARTITIONS",
    "QUARRY_KAFKA_GROUP", "AWS_REGION", "QUARRY_DEFAULT_MODEL",
    "QUARRY_EMULATOR_ACCESS_KEY_ID", "QUARRY_EMULATOR_SECRET_ACCESS_KEY", "QUARRY_LOG_LEVEL",
}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# --- a parser for the YAML subset of docker-compose.yml (used when PyYAML is absent) ----------

class MiniYAMLError(ValueError):
    pass


def _strip_comment(s):
    """Removes a trailing ' # comment' that is not inside quotes."""
    quote = None
    for i, ch in enumerate(s):
        if quote:
            if ch == "\\" and quote == '"':
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'" and (i == 0 or s[i - 1] in " [,:"):
            quote = ch
        elif ch == "#" and (i == 0 or s[i - 1] in " \t"):
            return s[:i].rstrip()
    return s


def _quoted(tok):
    if tok.startswith('"'):
        if not tok.endswith('"') or len(tok) < 2:
            raise MiniYAMLError("unterminated string: " + tok)
        return json.loads(tok)
    if tok.startswith("'"):
        if not tok.endswith("'") or len(tok) < 2:
            raise MiniYAMLError("unterminated string: " + tok)
        return tok[1:-1].replace("''", "'")
    raise MiniYAMLError("not quoted: " + tok)


def _plain(tok):
    if tok in ("true", "True", "TRUE"):
        return True
    if tok in ("false", "False", "FALSE"):
        return False
    if tok in ("null", "Null", "NULL", "~", ""):
        return None
    if re.fullmatch(r"[-+]?[0-9]+", tok):
        return int(tok)
    if tok in ("yes", "no", "on", "off", "y", "n"):
        # YAML 1.1 booleans: ambiguous between parsers, so not allowed unquoted.
        raise MiniYAMLError("quote the ambiguous scalar " + tok)
    return tok


def _flow_seq(s):
    if not s.endswith("]"):
        raise MiniYAMLError("flow sequence must be on one line: " + s)
    body, items, i = s[1:-1], [], 0
    while True:
        while i < len(body) and body[i] in " \t":
            i += 1
        if i >= len(body):
            break
        if body[i] in "\"'":
            q, j = body[i], i + 1
            while j < len(body):
                if q == '"' and body[j] == "\\":
                    j += 2
                    continue
                if body[j] == q:
                    if q == "'" and j + 1 < len(body) and body[j + 1] == "'":
                        j += 2
                        continue
                    break
                j += 1
            items.append(_quoted(body[i:j + 1]))
            i = j + 1
        else:
            j = body.find(",", i)
            j = len(body) if j < 0 else j
            items.append(_plain(body[i:j].strip()))
            i = j
        while i < len(body) and body[i] in " \t":
            i += 1
        if i < len(body):
            if body[i] != ",":
                raise MiniYAMLError("bad flow sequence: " + s)
            i += 1
    return items


def _scalar(s):
    s = _strip_comment(s).strip()
    if s.startswith("["):
        return _flow_seq(s)
    if s.startswith("{"):
        raise MiniYAMLError("flow mappings are not supported: " + s)
    if s[:1] in ("'", '"'):
        return _quoted(s)
    if s[:1] in ("&", "*", "!") or s.startswith("<<"):
        raise MiniYAMLError("anchors, aliases and tags are not supported: " + s)
    return _plain(s)


class MiniYAML:
    def __init__(self, text):
        self.lines = text.splitlines()
        self.i = 0

    def load(self):
        self._skip()
        if self.i >= len(self.lines):
            return None
        node = self._node(self._indent(self.lines[self.i]))
        self._skip()
        if self.i < len(self.lines):
            raise MiniYAMLError("unexpected line %d: %s" % (self.i + 1, self.lines[self.i]))
        return node

    @staticmethod
    def _indent(s):
        if "\t" in s[: len(s) - len(s.lstrip())]:
            raise MiniYAMLError("tab in indentation: " + s)
        return len(s) - len(s.lstrip(" "))

    def _skip(self):
        while self.i < len(self.lines):
            st = self.lines[self.i].strip()
            if st and not st.startswith("#") and st != "---":
                return
            self.i += 1

    def _peek(self):
        self._skip()
        return self.lines[self.i] if self.i < len(self.lines) else None

    @staticmethod
    def _is_item(st):
        return st == "-" or st.startswith("- ")

    def _node(self, indent):
        line = self._peek()
        if self._is_item(line.strip()):
            return self._seq(indent)
        return self._map(indent)

    def _value_after(self, ind, rest):
        """The value of a key or item whose text after ':' or '- ' is rest."""
        if rest in ("|", "|-", "|+"):
            return self._block(ind, rest)
        if rest.startswith(">"):
            raise MiniYAMLError("folded scalars are not supported")
        if rest:
            return _scalar(rest)
        nxt = self._peek()
        if nxt is None:
            return None
        nind = self._indent(nxt)
        if nind > ind or (nind == ind and self._is_item(nxt.strip())):
            return self._node(nind)
        return None

    def _map(self, indent):
        out = {}
        while True:
            line = self._peek()
            if line is None or self._indent(line) < indent:
                return out
            if self._indent(line) > indent:
                raise MiniYAMLError("bad indentation at line %d: %s" % (self.i + 1, line))
            st = _strip_comment(line.strip())
            m = re.match(r"""^("[^"]*"|'[^']*'|[^\s'"#][^:#]*?)\s*:(\s+(.*))?$""", st)
            if not m or self._is_item(st):
                raise MiniYAMLError("expected 'key: value' at line %d: %s" % (self.i + 1, line))
            key = m.group(1)
            key = _quoted(key) if key[:1] in "'\"" else key
            if key in out:
                raise MiniYAMLError("duplicate key %r at line %d" % (key, self.i + 1))
            self.i += 1
            out[key] = self._value_after(indent, (m.group(3) or "").strip())

    def _seq(self, indent):
        out = []
        while True:
            line = self._peek()
            if line is None or self._indent(line) != indent or not self._is_item(line.strip()):
                if line is not None and self._indent(line) > indent:
                    raise MiniYAMLError("bad indentation at line %d: %s" % (self.i + 1, line))
                return out
            rest = line.strip()[1:].strip()
            if re.match(r"""^("[^"]*"|'[^']*'|[^\s'"\[{#][^:#]*?)\s*:(\s|$)""", rest):
                # "- key: value": a mapping whose keys are indented like this first one.
                self.lines[self.i] = " " * (indent + 2) + rest
                out.append(self._map(indent + 2))
                continue
            self.i += 1
            out.append(self._value_after(indent, rest))

    def _block(self, parent_indent, indicator):
        body, block_indent = [], None
        while self.i < len(self.lines):
            s = self.lines[self.i]
            if not s.strip():
                body.append("")
                self.i += 1
                continue
            ind = self._indent(s)
            if ind <= parent_indent or (block_indent is not None and ind < block_indent):
                break
            block_indent = ind if block_indent is None else block_indent
            body.append(s[block_indent:])
            self.i += 1
        while body and body[-1] == "":
            body.pop()
        text = "\n".join(body)
        return text if indicator == "|-" else text + "\n"


def load_yaml(text):
    try:
        import yaml  # noqa: F401
    except ImportError:
        return MiniYAML(text).load()
    return yaml.safe_load(text)


# --- helpers ------------------------------------------------------------------------------------

def load_stack_env():
    env, problems = {}, []
    for n, line in enumerate(read(STACK_ENV).splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        # Compose and a shell must read the same value: no quotes, spaces, $, backslashes.
        m = re.fullmatch(r"([A-Z][A-Z0-9_]*)=([^\s'\"`$\\#]*)", line)
        if not m:
            problems.append("%d: %s" % (n, line))
            continue
        if m.group(1) in env:
            problems.append("%d: duplicate %s" % (n, m.group(1)))
        env[m.group(1)] = m.group(2)
    return env, problems


def env_files(svc):
    ef = svc.get("env_file")
    if ef is None:
        return []
    if isinstance(ef, (str, dict)):
        ef = [ef]
    return [os.path.normpath(e["path"] if isinstance(e, dict) else e) for e in ef]


def environment(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        out = {}
        for item in env:
            k, _, v = str(item).partition("=")
            out[k] = v
        return out
    return {k: "" if v is None else str(v) for k, v in env.items()}


def as_list(cmd):
    if cmd is None:
        return []
    return [cmd] if isinstance(cmd, str) else [str(c) for c in cmd]


def unescape_compose(s):
    """What a container receives for a string of the compose file: `$$` is a literal `$`.
    A single `$` would be Compose interpolation from the host, which these tests forbid for
    the keys of stack.env (see test_no_compose_time_interpolation_of_stack_env)."""
    return s.replace("$$", "$")


def is_quarry_service(svc):
    return "build" in svc or str(svc.get("image", "")).startswith("quarry")


def makefile_binaries():
    m = re.search(r"^BINS\s*:?=\s*(.+)$", read(MAKEFILE), re.M)
    assert m, "no BINS := line in the Makefile"
    return {os.path.basename(w) for w in m.group(1).split()}


def stack_components():
    m = re.search(r"^COMPONENTS=\(([^)]*)\)", read(STACK_SH), re.M)
    assert m, "no COMPONENTS=(...) line in scripts/stack.sh"
    return m.group(1).split()


def dockerfile_stages():
    """[(stage header line, [instructions with continuation lines joined])]"""
    stages, cur = [], None
    joined, buf = [], ""
    for line in read(DOCKERFILE).splitlines():
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        joined.append(buf + line)
        buf = ""
    for ins in joined:
        if re.match(r"^\s*FROM\s", ins, re.I):
            cur = (ins.strip(), [])
            stages.append(cur)
        elif cur is not None:
            cur[1].append(ins.strip())
    return stages


def write_stub(path, body):
    with open(path, "w", encoding="utf-8") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


class ComposeConsistency(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.compose_text = read(COMPOSE)
        cls.compose = load_yaml(cls.compose_text)
        cls.services = cls.compose["services"]
        cls.env, cls.env_problems = load_stack_env()

    # -- deploy/stack.env -------------------------------------------------------------------

    def test_stack_env_is_plain_and_complete(self):
        self.assertEqual(self.env_problems, [], "deploy/stack.env lines must be plain KEY=value")
        self.assertLessEqual(REQUIRED_ENV_KEYS, set(self.env), "keys missing from deploy/stack.env")
        self.assertRegex(self.env["QUARRY_KAFKA_PARTITIONS"], r"^[1-9][0-9]*$")

    def test_native_stack_reads_stack_env_and_hardcodes_none_of_it(self):
        sh = read(STACK_SH)
        self.assertIn("deploy/stack.env", sh)
        for key, value in self.env.items():
            if len(value) >= 6:
                self.assertNotIn(value, sh, "scripts/stack.sh hardcodes %s's value" % key)

    # -- the parser itself --------------------------------------------------------------------

    def test_fallback_parser_agrees_with_pyyaml(self):
        try:
            import yaml
        except ImportError:
            self.skipTest("PyYAML not installed")
        self.assertEqual(MiniYAML(self.compose_text).load(), yaml.safe_load(self.compose_text))

    # -- single source of settings ------------------------------------------------------------

    def test_services_read_stack_env(self):
        quarry = {n for n, s in self.services.items() if is_quarry_service(s)}
        self.assertEqual(quarry, {"migrate", "emulator", "intake", "consumer"})
        for name in sorted(quarry | {"kafka", "kafka-init"}):
            self.assertIn(STACK_ENV_REL, env_files(self.services[name]),
                          "service %s must use env_file: %s" % (name, STACK_ENV_REL))
        self.assertTrue(os.path.isfile(STACK_ENV))

    def test_compose_never_redefines_stack_env_keys(self):
        for name, svc in self.services.items():
            redefined = set(environment(svc)) & set(self.env)
            self.assertEqual(redefined, set(), "service %s redefines stack.env keys" % name)
        for key, value in self.env.items():
            if len(value) >= 6:
                self.assertNotIn(value, self.compose_text,
                                 "docker-compose.yml copies the value of %s: use $$%s" % (key, key))

    def test_no_compose_time_interpolation_of_stack_env(self):
        # ${KEY} in compose is filled from the host environment, never from env_file: it would
        # silently be empty or differ from stack.env.
        for key in self.env:
            m = re.search(r"(?<!\$)\$\{?%s\b" % key, self.compose_text)
            self.assertIsNone(m, "docker-compose.yml interpolates %s at compose time; use $$%s"
                              % (key, key))

    # -- Kafka ----------------------------------------------------------------------------------

    def test_kafka_images_are_3_9_like_the_native_broker(self):
        pom = re.search(r"<kafka.version>([^<]+)</kafka.version>", read(KAFKA_POM)).group(1)
        images = {n: s["image"] for n, s in self.services.items()
                  if str(s.get("image", "")).startswith("apache/kafka")}
        self.assertEqual(set(images), {"kafka", "kafka-init"})
        for name, image in images.items():
            tag = image.partition(":")[2]
            self.assertRegex(tag, r"^3\.9\.[0-9]+$", "%s: Kafka image must be 3.9.x" % name)
            self.assertEqual(tag, pom, "%s runs Kafka %s, the native stack %s" % (name, tag, pom))

    def run_container_shell(self, svc, stubs, stack_env=None):
        """Runs svc's entrypoint+command like its container would, with stub programs for the
        programs in `stubs` ({absolute path or command name: stub script}) and stack_env
        (default: deploy/stack.env) as the env_file. Returns what the stubs wrote to @OUT@."""
        argv = [unescape_compose(a) for a in as_list(svc.get("entrypoint")) + as_list(svc.get("command"))]
        self.assertGreaterEqual(len(argv), 3, argv)
        self.assertIn(os.path.basename(argv[0]), ("sh", "bash"), argv)
        self.assertEqual(argv[1], "-c", argv)
        script = argv[2]
        tmp = tempfile.mkdtemp(prefix="quarry-compose-test-")
        try:
            out = os.path.join(tmp, "calls")
            for n, (path, body) in enumerate(sorted(stubs.items())):
                local = os.path.join(tmp, "stub%d" % n)
                write_stub(local, body.replace("@OUT@", out))
                if path.startswith("/"):
                    self.assertIn(path, script)
                    script = script.replace(path, local)
                else:  # a command found on PATH
                    os.makedirs(os.path.join(tmp, "bin"), exist_ok=True)
                    shutil.copy(local, os.path.join(tmp, "bin", path))
            env = {"PATH": os.path.join(tmp, "bin") + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin")}
            env.update(stack_env if stack_env is not None else self.env)  # env_file
            env.update(environment(svc))  # environment: wins over env_file, as in Compose
            shell = shutil.which(os.path.basename(argv[0])) or argv[0]
            subprocess.run([shell, "-c", script] + argv[3:], env=env, check=True, timeout=30)
            return read(out) if os.path.exists(out) else ""
        finally:
            shutil.rmtree(tmp)

    def probes(self):
        """stack.env as is, and stack.env with other values: what a container does must follow
        the file, not merely agree with today's values."""
        other = {k: v + "x" for k, v in self.env.items()}
        other["QUARRY_KAFKA_PARTITIONS"] = str(int(self.env["QUARRY_KAFKA_PARTITIONS"]) + 7)
        return [dict(self.env), other]

    def test_kafka_init_creates_the_stack_env_topics(self):
        init = self.services["kafka-init"]
        self.assertEqual(init["depends_on"]["kafka"]["condition"], "service_healthy")
        for env in self.probes():
            calls = self.run_container_shell(init, {
                "/opt/kafka/bin/kafka-topics.sh": 'printf "%s\\n" "$*" >>@OUT@\n'}, env)
            created = {}
            for line in calls.splitlines():
                args = line.split()
                self.assertIn("--create", args)
                self.assertIn("--if-not-exists", args)
                self.assertEqual(args[args.index("--replication-factor") + 1], "1")
                created[args[args.index("--topic") + 1]] = args[args.index("--partitions") + 1]
            p = env["QUARRY_KAFKA_PARTITIONS"]
            self.assertEqual(created, {env["QUARRY_KAFKA_TOPIC"]: p, env["QUARRY_KAFKA_DLQ_TOPIC"]: p,
                                   env["QUARRY_KAFKA_BATCH_TOPIC"]: p})

    def test_kafka_broker_gets_stack_env_partitions(self):
        kafka = self.services["kafka"]
        env = environment(kafka)
        self.assertEqual(env.get("KAFKA_PROCESS_ROLES"), "broker,controller")
        self.assertEqual(str(env.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE")).lower(), "false")
        self.assertNotIn("KAFKA_NUM_PARTITIONS", env, "num.partitions must come from stack.env")
        for probe in self.probes():
            out = self.run_container_shell(kafka, {
                "/etc/kafka/docker/run": 'echo "$KAFKA_NUM_PARTITIONS" >@OUT@\n'}, probe)
            self.assertEqual(out.strip(), probe["QUARRY_KAFKA_PARTITIONS"])

    # -- the native components and the compose services ---------------------------------------

    def test_every_native_component_has_a_compose_service(self):
        components = stack_components()
        self.assertEqual(components[:2], ["postgres", "kafka"])
        for c in components:
            self.assertIn(COUNTERPART.get(c, c), self.services,
                          "native component %s has no compose service" % c)

    def test_daemons_run_the_binaries_the_dockerfile_builds(self):
        binaries = makefile_binaries()
        self.assertEqual(binaries, {"quarry-intake", "quarry-consumer", "quarry-emulator", "quarry"})
        copied = set()
        runtime = dockerfile_stages()[-1]
        for ins in runtime[1]:
            if ins.upper().startswith("COPY") and "--from=" in ins:
                copied |= {os.path.basename(w) for w in ins.split()[2:-1]}
        self.assertEqual(copied, binaries, "the Dockerfile must ship exactly the Makefile's binaries")
        builds = " ".join(" ".join(s[1]) for s in dockerfile_stages()[:-1])
        self.assertRegex(builds, r"\bmake\b", "the Dockerfile must build with the Makefile")
        for name in ("emulator", "intake", "consumer"):
            cmd = " ".join(as_list(self.services[name].get("command")))
            self.assertRegex(cmd, r"(^|[\s;/])quarry-%s\b" % name, "%s runs the wrong binary" % name)
        migrate = as_list(self.services["migrate"]["command"])
        self.assertEqual(migrate[:2], ["quarry", "migrate"])
        mdir = migrate[migrate.index("--dir") + 1]
        self.assertTrue(any(re.match(r"COPY\s+migrations/?\s+%s/?$" % re.escape(mdir), i)
                            for i in runtime[1]), "the image must have the migrations in " + mdir)

    def test_dockerfile_build_packages_are_the_developer_packages(self):
        deps = read(DEPS_SH)
        block = re.search(r"^PACKAGES=\((.*?)^\)", deps, re.M | re.S).group(1)
        dev = {w.strip('"').split("|")[0] for w in re.sub(r"#.*", "", block).split()}
        build_stage = " ".join(dockerfile_stages()[0][1])
        m = re.search(r"apt-get install (.*?)(&&|$)", build_stage)
        pkgs = {w for w in m.group(1).split() if not w.startswith("-")}
        self.assertIn("libcmocka-dev", pkgs, "the Makefile needs cmocka's pkg-config file to build")
        self.assertLessEqual(pkgs, dev, "the image builds with packages scripts/deps.sh lacks")

    def test_consumer_uses_the_emulator_with_its_stack_env_keys(self):
        consumer, emulator = self.services["consumer"], self.services["emulator"]
        port = environment(emulator)["QUARRY_EMULATOR_LISTEN"].rpartition(":")[2]
        self.assertEqual(environment(consumer)["QUARRY_BEDROCK_ENDPOINT"], "http://emulator:%s" % port)
        for probe in self.probes():
            out = self.run_container_shell(consumer, {
                "quarry-consumer": 'echo "$AWS_ACCESS_KEY_ID $AWS_SECRET_ACCESS_KEY" >@OUT@\n'}, probe)
            self.assertEqual(out.split(), [probe["QUARRY_EMULATOR_ACCESS_KEY_ID"],
                                           probe["QUARRY_EMULATOR_SECRET_ACCESS_KEY"]])

    def test_addresses_agree(self):
        kafka_adv = environment(self.services["kafka"])["KAFKA_ADVERTISED_LISTENERS"]
        broker = re.search(r"PLAINTEXT://([^,]+)", kafka_adv).group(1)
        pg = environment(self.services["postgres"])
        pw = pg["POSTGRES_PASSWORD"]
        for name in ("migrate", "intake", "consumer"):
            url = environment(self.services[name])["QUARRY_DATABASE_URL"]
            self.assertEqual(url, "postgresql://%s:%s@postgres:5432/%s"
                             % (pg["POSTGRES_USER"], pw, pg["POSTGRES_DB"]), name)
        for name in ("intake", "consumer"):
            self.assertEqual(environment(self.services[name])["QUARRY_KAFKA_BROKERS"], broker, name)
        intake = self.services["intake"]
        port = environment(intake)["QUARRY_INTAKE_LISTEN"].rpartition(":")[2]
        published = [str(p).rpartition(":")[2] for p in intake.get("ports", [])]
        self.assertEqual(published, [port], "intake must publish its listen port")

    def test_startup_order_and_health(self):
        valid = {"service_started", "service_healthy", "service_completed_successfully"}
        expected = {
            "migrate": {"postgres": "service_healthy"},
            "kafka-init": {"kafka": "service_healthy"},
            "intake": {"migrate": "service_completed_successfully",
                       "kafka-init": "service_completed_successfully"},
            "consumer": {"migrate": "service_completed_successfully",
                         "kafka-init": "service_completed_successfully",
                         "emulator": "service_healthy"},
        }
        for name, svc in self.services.items():
            deps = svc.get("depends_on") or {}
            self.assertIsInstance(deps, dict, "%s: use the long depends_on form with conditions" % name)
            for dep, spec in deps.items():
                self.assertIn(dep, self.services)
                self.assertIn(spec["condition"], valid)
                if spec["condition"] == "service_healthy":
                    self.assertIn("healthcheck", self.services[dep], "%s has no healthcheck" % dep)
            for dep, cond in expected.get(name, {}).items():
                self.assertEqual(deps.get(dep, {}).get("condition"), cond, "%s -> %s" % (name, dep))
        for name in ("postgres", "kafka", "emulator", "intake"):
            self.assertIn("healthcheck", self.services[name], name)
        for name in ("kafka-init", "migrate"):
            self.assertEqual(str(self.services[name].get("restart", "no")), "no", name)


if __name__ == "__main__":
    unittest.main()

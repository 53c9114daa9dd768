"""Fleets: many projects (and regions) cleaned up as one.

Contract: a :class:`Fleet` is an ordered list of :class:`Target` s, each a region or endpoint, a
project id and where that project's credentials come from; project ids are unique within a fleet
(they index the fleet's frames, ``("project_id", "task_id")``). Credentials never come from the
fleet file: a target names a *source* - the environment and the SDK credentials file as
:meth:`wsnb.Credentials.from_env` reads them (the default), or one ``profile`` (an INI section) of
the SDK credentials file - and the file refuses ``ak``/``sk``/``token`` (and the like) keys with
an error naming the key, never its value.

Sources of a fleet:

* Python: ``Fleet([Target(region="cn-north-4", project_id="…"), "ap-southeast-1:…"])``;
* a TOML file (``wsnb.toml`` in the current folder, or a path; :func:`load_fleet`)::

      [fleet]
      profile = "prod"                  # optional default source for every target
      [[fleet.targets]]
      region = "cn-north-4"
      project_id = "0a1b…"
      [[fleet.discover]]                # every project of the account in a region (IAM)
      region = "cn-east-3"

* strings ``region:project_id`` (or ``https://endpoint:project_id``), e.g. the cleanup
  notebook's ``fleet`` parameter (:meth:`Fleet.parse`).

Discovery (:func:`discover_projects`) asks IAM (``GET /v3/auth/projects``) for the account's
projects and keeps the enabled ones named after the region (``cn-east-3`` and its sub-projects
``cn-east-3_…``). Every target gets its own :class:`~wsnb.client.Client` and so its own
:class:`~wsnb.RateLimit` (each project has its own quota); :func:`wsnb.tasks_frame` and
:func:`wsnb.delete_tasks` accept a fleet.
"""

from __future__ import annotations

import configparser
import contextlib
import dataclasses
import os
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, overload

from wsnb.auth import ENV_CREDENTIALS_FILE, Credentials, CredentialsError, clean_value
from wsnb.client import REGIONS, Client

__all__ = [
    "DEFAULT_FLEET_FILE",
    "DEFAULT_IAM_ENDPOINT",
    "Fleet",
    "FleetError",
    "FleetFileError",
    "Target",
    "find_fleet_file",
    "load_fleet",
]

#: The fleet file looked for in the current folder when none is named.
DEFAULT_FLEET_FILE: Final = "wsnb.toml"
#: IAM's global endpoint (projects of every region).
DEFAULT_IAM_ENDPOINT: Final = "https://iam.myhuaweicloud.com"

#: Keys a fleet file may never hold: credentials belong in the environment or the SDK file.
SECRET_KEYS: Final = frozenset(
    {
        "ak",
        "sk",
        "token",
        "security_token",
        "access_key",
        "secret_key",
        "secret",
        "auth_token",
        "password",
        "x_auth_token",
    }
)
_TARGET_KEYS: Final = frozenset({"region", "endpoint", "project_id", "profile", "credentials_file"})
_DISCOVER_KEYS: Final = frozenset(
    {"region", "endpoint", "profile", "credentials_file", "iam_endpoint"}
)
_FLEET_KEYS: Final = frozenset(
    {"profile", "credentials_file", "iam_endpoint", "targets", "discover"}
)


class FleetFileError(ValueError):
    """A fleet file (or fleet parameter) is malformed; the message names the file and the key."""


class FleetError(Exception):
    """Some projects of a fleet failed (the others went on): ``errors`` maps each failed
    project id to its exception; ``result`` holds what the others produced (e.g. the frame)."""

    def __init__(self, what: str, errors: Mapping[str, BaseException], result: Any = None):
        self.errors = dict(errors)
        self.result = result
        names = "; ".join(f"{pid}: {type(e).__name__}: {e}" for pid, e in self.errors.items())
        super().__init__(f"{what} failed in {len(self.errors)} project(s): {names}")


def _profile_credentials(
    profile: str, credentials_file: str | None, environ: Mapping[str, str]
) -> Credentials:
    """Section ``profile`` of the SDK credentials file (``credentials_file``, else
    ``$HUAWEICLOUD_SDK_CREDENTIALS_FILE``, else ``~/.huaweicloud/credentials``), read like
    :meth:`Credentials.from_env` reads ``[basic]``. Messages name the file and key, never values."""
    named = credentials_file or environ.get(ENV_CREDENTIALS_FILE)
    if named:
        path = Path(named).expanduser()
    else:
        home = environ.get("HOME")
        path = (Path(home) if home else Path.home()) / ".huaweicloud" / "credentials"
    if not path.is_file():
        raise CredentialsError(f"credentials file {path} does not exist (profile {profile!r})")
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise CredentialsError(
            f"credentials file {path} is not valid INI ({type(exc).__name__})"
        ) from None
    if not parser.has_section(profile):
        raise CredentialsError(f"credentials file {path} has no [{profile}] section")
    where = f"credentials file {path}: [{profile}]"

    def item(key: str) -> str | None:
        return clean_value(parser.get(profile, key, fallback=None), f"{where} {key}")

    ak, sk = item("ak"), item("sk")
    if ak and sk:
        token = item("security_token")
        return Credentials(
            ak=ak, sk=sk, security_token=token, project_id=item("project_id"), source=where
        )
    if ak or sk:
        raise CredentialsError(f"{where} lacks {'sk' if ak else 'ak'}")
    raise CredentialsError(f"{where} holds no ak/sk")


@dataclass(frozen=True)
class Target:
    """One project of a fleet: where (``region`` or ``endpoint``), which (``project_id``) and
    whose credentials (``profile``: a section of the SDK credentials file; None: the
    environment / ``[basic]`` as :meth:`Credentials.from_env`; ``credentials``: given in code,
    never from a file). ``region`` is also the label of the fleet frame's ``region`` column."""

    project_id: str
    region: str | None = None
    endpoint: str | None = None
    profile: str | None = None
    credentials_file: str | None = None
    credentials: Credentials | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        project = clean_value(self.project_id, "project_id")
        if not project:
            raise ValueError("a fleet target needs a project_id")
        object.__setattr__(self, "project_id", project)
        if self.endpoint:
            if not self.endpoint.startswith(("https://", "http://")):
                raise ValueError(
                    f"endpoint must start with https:// or http://, got {self.endpoint!r}"
                )
            object.__setattr__(self, "endpoint", self.endpoint.rstrip("/"))
        elif not self.region:
            raise ValueError(f"fleet target {project}: give region= or endpoint=")
        elif self.region not in REGIONS:
            raise ValueError(
                f"fleet target {project}: unknown region {self.region!r}; known regions: "
                f"{', '.join(sorted(REGIONS))} (pass endpoint= for any other)"
            )

    @property
    def label(self) -> str:
        """The region column's value: the region, else the endpoint."""
        return self.region or str(self.endpoint)

    def resolve_credentials(self, environ: Mapping[str, str] | None = None) -> Credentials:
        """This target's credentials, bound to its project id."""
        env = os.environ if environ is None else environ
        if self.credentials is not None:
            creds = self.credentials
        elif self.profile:
            creds = _profile_credentials(self.profile, self.credentials_file, env)
        else:
            creds = Credentials.from_env(env, credentials_file=self.credentials_file)
        return dataclasses.replace(creds, project_id=self.project_id)

    def client(self, **kwargs: Any) -> Client:
        """A new :class:`~wsnb.client.Client` for this target (its own rate limit)."""
        return Client(
            region=None if self.endpoint else self.region,
            endpoint=self.endpoint,
            project_id=self.project_id,
            credentials=self.resolve_credentials(),
            **kwargs,
        )

    @classmethod
    def parse(cls, text: str) -> Target:
        """``region:project_id`` or ``http(s)://endpoint:project_id``."""
        where, sep, project = str(text).strip().rpartition(":")
        if not sep or not where.rstrip("/") or not project or where.endswith(":/"):
            raise FleetFileError(
                f"fleet target {text!r}: expected 'region:project_id' or "
                "'https://endpoint:project_id'"
            )
        if "://" in where:
            return cls(project_id=project, endpoint=where)
        return cls(project_id=project, region=where)


class Fleet(Sequence[Target]):
    """Targets (projects) cleaned up together; project ids are unique. Items may be
    :class:`Target` s, ``region:project_id`` strings or mappings of :class:`Target` fields."""

    def __init__(
        self,
        targets: Iterable[Target | str | Mapping[str, Any]],
        *,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        #: keyword arguments for every target's :class:`~wsnb.client.Client` (timeouts, a
        #: transport…); a callable ``rate_limit`` is called once per client (each project has
        #: its own quota, so a single ``RateLimit`` object would be shared by all of them)
        self.client_options: dict[str, Any] = dict(client_options or {})
        items: list[Target] = []
        for item in targets:
            if isinstance(item, Target):
                items.append(item)
            elif isinstance(item, str):
                items.append(Target.parse(item))
            elif isinstance(item, Mapping):
                items.append(Target(**item))
            else:
                raise TypeError(f"a fleet target is a Target, a string or a mapping, not {item!r}")
        seen: set[str] = set()
        for target in items:
            if target.project_id in seen:
                raise ValueError(f"project {target.project_id} appears twice in the fleet")
            seen.add(target.project_id)
        self.targets: tuple[Target, ...] = tuple(items)

    @overload
    def __getitem__(self, index: int) -> Target: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Target]: ...
    def __getitem__(self, index: int | slice) -> Target | Sequence[Target]:
        return self.targets[index]

    def __len__(self) -> int:
        return len(self.targets)

    def __repr__(self) -> str:
        shown = ", ".join(f"{t.label}:{t.project_id}" for t in self.targets)
        return f"Fleet([{shown}])"

    @property
    def project_ids(self) -> list[str]:
        return [t.project_id for t in self.targets]

    def target(self, project_id: str) -> Target:
        """The target of ``project_id`` (``KeyError`` naming the fleet's projects)."""
        for target in self.targets:
            if target.project_id == project_id:
                return target
        raise KeyError(f"project {project_id} is not in the fleet ({', '.join(self.project_ids)})")

    @contextlib.contextmanager
    def clients(self, **kwargs: Any) -> Iterator[dict[str, Client]]:
        """One client per target (project id -> client), closed at the end."""
        made: dict[str, Client] = {}
        options = {**self.client_options, **kwargs}
        try:
            for target in self.targets:
                own = dict(options)
                if callable(own.get("rate_limit")):
                    own["rate_limit"] = own["rate_limit"]()
                made[target.project_id] = target.client(**own)
            yield made
        finally:
            for client in made.values():
                client.close()

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> Fleet:
        """The fleet of a TOML file (see :func:`load_fleet`)."""
        return load_fleet(path)

    @classmethod
    def parse(cls, value: Any) -> Fleet | None:
        """A fleet from a parameter: a :class:`Fleet`, a file path, a list of
        ``region:project_id`` strings (or a comma-separated string of them); empty -> None."""
        if value is None or isinstance(value, Fleet):
            return value
        if isinstance(value, str | os.PathLike):
            text = os.fspath(value).strip()
            if not text:
                return None
            if text.endswith(".toml") or Path(text).is_file():
                return load_fleet(text)
            return cls([Target.parse(part) for part in text.split(",") if part.strip()])
        if isinstance(value, Sequence):
            return cls([Target.parse(str(v)) for v in value]) if len(value) else None
        raise FleetFileError(
            f"fleet must be a path or a list of 'region:project' strings: {value!r}"
        )


def find_fleet_file(path: str | os.PathLike[str] | None = None) -> Path | None:
    """``path`` (it must exist), else ``wsnb.toml`` in the current folder if there is one."""
    if path is not None:
        found = Path(path).expanduser()
        if not found.is_file():
            raise FleetFileError(f"fleet file {found} does not exist")
        return found
    default = Path.cwd() / DEFAULT_FLEET_FILE
    return default if default.is_file() else None


def _refuse_secrets(value: Any, where: str, source: str) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            name = f"{where}.{key}" if where else str(key)
            if str(key).lower() in SECRET_KEYS:
                raise FleetFileError(
                    f"fleet file {source}: key {name!r} holds a credential; credentials never go "
                    "in the fleet file: use the environment or a profile of the SDK credentials "
                    'file (profile = "NAME")'
                )
            _refuse_secrets(inner, name, source)
    elif isinstance(value, list):
        for n, inner in enumerate(value):
            _refuse_secrets(inner, f"{where}[{n}]", source)


def _table(value: Any, where: str, allowed: frozenset[str], source: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise FleetFileError(f"fleet file {source}: {where} must be a table")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise FleetFileError(
            f"fleet file {source}: unknown key {where}.{unknown[0]} (allowed: "
            f"{', '.join(sorted(allowed))})"
        )
    for key, inner in value.items():
        if key not in ("targets", "discover") and not isinstance(inner, str):
            raise FleetFileError(f"fleet file {source}: {where}.{key} must be a string")
    return dict(value)


def fleet_from_toml(text: str, source: str = "<string>", *, discover: bool = True) -> Fleet:
    """Parse a fleet file's text (see the module docstring). ``discover`` runs the IAM
    look-ups of ``[[fleet.discover]]`` entries (else they are refused)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FleetFileError(f"fleet file {source} is not valid TOML: {exc}") from None
    _refuse_secrets(data, "", source)
    unknown = sorted(set(data) - {"fleet"})
    if unknown:
        raise FleetFileError(f"fleet file {source}: unknown table {unknown[0]!r} (use [fleet])")
    fleet = _table(data.get("fleet", {}), "fleet", _FLEET_KEYS, source)
    defaults: dict[str, Any] = {k: fleet[k] for k in ("profile", "credentials_file") if k in fleet}
    targets: list[Target] = []
    for n, raw in enumerate(fleet.get("targets", [])):
        entry = _table(raw, f"fleet.targets[{n}]", _TARGET_KEYS, source)
        try:
            merged: dict[str, Any] = {**defaults, **entry}
            targets.append(Target(**merged))
        except (TypeError, ValueError) as exc:
            raise FleetFileError(f"fleet file {source}: fleet.targets[{n}]: {exc}") from None
    entries = fleet.get("discover", [])
    if entries and not discover:
        raise FleetFileError(f"fleet file {source}: discovery is not allowed here")
    for n, raw in enumerate(entries):
        entry = _table(raw, f"fleet.discover[{n}]", _DISCOVER_KEYS, source)
        if "region" not in entry:
            raise FleetFileError(f"fleet file {source}: fleet.discover[{n}] needs a region")
        from wsnb._fleet_iam import discover_projects

        options: dict[str, Any] = {**defaults, **entry}
        probe = Target(
            project_id="discovery",
            region=options.get("region") if not options.get("endpoint") else None,
            endpoint=options.get("endpoint"),
            profile=options.get("profile"),
            credentials_file=options.get("credentials_file"),
        )
        iam = options.get("iam_endpoint") or fleet.get("iam_endpoint") or DEFAULT_IAM_ENDPOINT
        known = {t.project_id for t in targets}
        for project in discover_projects(
            options["region"], credentials=probe.resolve_credentials(), iam_endpoint=iam
        ):
            if project["id"] in known:
                continue
            targets.append(
                Target(
                    project_id=project["id"],
                    region=options["region"],
                    endpoint=options.get("endpoint"),
                    profile=options.get("profile"),
                    credentials_file=options.get("credentials_file"),
                )
            )
            known.add(project["id"])
    if not targets:
        raise FleetFileError(f"fleet file {source} names no target")
    try:
        return Fleet(targets)
    except ValueError as exc:
        raise FleetFileError(f"fleet file {source}: {exc}") from None


def load_fleet(path: str | os.PathLike[str] | None = None) -> Fleet:
    """The fleet of ``path``, else of ``wsnb.toml`` in the current folder
    (:class:`FleetFileError` when there is none)."""
    found = find_fleet_file(path)
    if found is None:
        raise FleetFileError(
            f"no fleet file: pass --fleet FILE or create {DEFAULT_FLEET_FILE} in {Path.cwd()}"
        )
    return fleet_from_toml(found.read_text(encoding="utf-8"), str(found))

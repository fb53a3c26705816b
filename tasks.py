"""dl-env tasks. Run `invoke --list`, or `invoke --help <task>` for any task's flags."""

from invoke.collection import Collection

from dlenv.commands import deps, host, image

namespace = Collection(host.ns, image.ns, deps.ns)

"""pybench: gomgr's Python benchmark module (make bench).

It answers, inside the real ceph-mgr, the commands the benchmark compares
with Go modules bridged into the same mgr:

- `pybench hello [<person_name>]` answers as the Go module hello's `hello`
  does ("Hello, Bob!", or "Hello world!" with the options place and
  emphatic, read once per change as the Go module does);
- `pybench format <n>` builds n elements and returns them as JSON, the
  work of the Go module gobench's `gobench format <n>` (see elements.py);
- `pybench cached <n>` returns the same text, built once: what a reply of
  that size costs the mgr itself, with no work in the module.
"""
import errno
from typing import Dict, Optional

from mgr_module import CLIReadCommand, HandleCommandResult, MgrModule, Option

from .elements import MAX_ELEMENTS, render


class Module(MgrModule):
    MODULE_OPTIONS = [
        Option(name='place', default='world', desc='a place in the world', runtime=True),
        Option(name='emphatic', type='bool', default=True, desc='whether to say it loudly', runtime=True),
    ]

    def __init__(self, *args, **kwargs) -> None:  # type: ignore
        super().__init__(*args, **kwargs)
        self.place = 'world'
        self.emphatic = True
        self.cache = {}  # type: Dict[int, str]
        self.config_notify()

    def config_notify(self) -> None:
        self.place = str(self.get_module_option('place'))
        self.emphatic = bool(self.get_module_option('emphatic'))

    @CLIReadCommand('pybench hello')
    def hello(self, person_name: Optional[str] = None) -> HandleCommandResult:
        """Say hello (as the Go module hello does)"""
        out = 'Hello ' + self.place if person_name is None else 'Hello, ' + person_name
        if self.emphatic:
            out += '!'
        return HandleCommandResult(stdout=out)

    @CLIReadCommand('pybench format')
    def format(self, n: int) -> HandleCommandResult:
        """Build n elements and return them as JSON (benchmark)"""
        if n < 0 or n > MAX_ELEMENTS:
            return HandleCommandResult(retval=-errno.EINVAL, stderr='n must be between 0 and {}'.format(MAX_ELEMENTS))
        return HandleCommandResult(stdout=render(n))

    @CLIReadCommand('pybench cached')
    def cached(self, n: int) -> HandleCommandResult:
        """Return format's text for n, built once (benchmark)"""
        if n < 0 or n > MAX_ELEMENTS:
            return HandleCommandResult(retval=-errno.EINVAL, stderr='n must be between 0 and {}'.format(MAX_ELEMENTS))
        if n not in self.cache:
            self.cache = {n: render(n)}  # one size at a time
        return HandleCommandResult(stdout=self.cache[n])

"""gomgrpy: a Python mgr module for gomgr's integration tests.

It offers `mgr gomgrpy eval`, the REPL protocol of Ceph's
`mgr self-test eval` (Quincy and later; Pacific's selftest lacks it), so
`mgrctl repl -c` can be tested against a real Python eval command:
the source comes in `s` or the input file, interpreter state persists
between calls, incomplete input returns 2, and `complete` returns the
names starting with a prefix, one per line.
"""
import builtins
import code
import contextlib
import io
from typing import Optional

from mgr_module import CLIWriteCommand, HandleCommandResult, MgrModule


class Module(MgrModule):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._repl = code.InteractiveInterpreter(dict(mgr=self))

    @CLIWriteCommand('mgr gomgrpy eval')
    def eval(self,
             s: Optional[str] = None,
             complete: Optional[str] = None,
             inbuf: Optional[str] = None) -> HandleCommandResult:
        '''Evaluate Python source in the module (gomgr test helper)'''
        if complete is not None:
            names = set(self._repl.locals) | set(dir(builtins))
            found = sorted(n for n in names if n.startswith(complete))
            return HandleCommandResult(stdout='\n'.join(found))
        source = s or inbuf
        if not source:
            return HandleCommandResult(-1, '', 'source is not specified')
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            if self._repl.runsource(source):
                return HandleCommandResult(2, '', '')
        return HandleCommandResult(0, out.getvalue(), err.getvalue())

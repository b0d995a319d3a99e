#!/usr/bin/env python3
"""CDK entry point: ``cdk synth`` builds every environment, ``cdk deploy -c env=dev`` one.

OUTPOST_SKIP_BUNDLING=1 skips Lambda bundling (for a quick look at the templates).
"""

import os

from cdk_app.application import build, new_app

app = new_app(bundle=os.environ.get("OUTPOST_SKIP_BUNDLING") != "1")
build(app)
app.synth()

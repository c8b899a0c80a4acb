"""AWS answers for the release tool run as a child process
(``python -m release ...``), where moto and a Stubber cannot reach: a test
writes a ``sitecustomize.py`` that calls ``install`` into a directory it puts
first on the child's PYTHONPATH, and the answers as JSON into the file that
``ANSWERS_VARIABLE`` names. A helper module, not a test module (no test
module imports another, tests/test_test_layout.py).

Every botocore client the child makes answers each call before it is sent
(botocore's ``before-call`` event, after the request was validated against
the service model) with the answer for ``"<service>.<Operation>"``, e.g.
``"codedeploy.GetDeployment"``, the same one every time; a call without an
answer fails with a client error that names it. Nothing reaches the network.
"""

from __future__ import annotations

import json
import os

#: The environment variable that names the JSON file of answers.
ANSWERS_VARIABLE = "RELEASE_CHILD_ANSWERS"


def sitecustomize() -> str:
    """The text of the ``sitecustomize.py`` that installs the answers."""
    return f"from {__name__} import install\n\ninstall()\n"


def install() -> None:
    """Every client made from now on answers from the file (see the module)."""
    import botocore.session
    from botocore.awsrequest import AWSResponse

    with open(os.environ[ANSWERS_VARIABLE]) as file:
        answers: dict[str, dict] = json.load(file)
    create_client = botocore.session.Session.create_client

    def answer(model, **_kwargs):
        key = f"{model.service_model.service_name}.{model.name}"
        if key not in answers:
            return AWSResponse(None, 400, {}, None), {
                "Error": {"Code": "NoAnswer", "Message": f"the test gives no answer to {key}"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
        return AWSResponse(None, 200, {}, None), {
            **answers[key],
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    def answering_client(self, *args, **kwargs):
        client = create_client(self, *args, **kwargs)
        client.meta.events.register("before-call", answer)
        return client

    botocore.session.Session.create_client = answering_client  # type: ignore[method-assign]

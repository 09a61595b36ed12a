"""Many gateway nodes on one Redis: any node resumes, follows and cancels any run.

:mod:`~agentstream.cluster.node` is this process as a node (lease, control channel, lost runs);
:mod:`~agentstream.cluster.remote` streams and cancels runs that other nodes run. The gateway
joins when its store is Redis (:func:`~agentstream.cluster.remote.join`); see ``docs/deploy.md``.
"""

"""The operator's runtime: the watch-fed cache, the work queue, and the controller that ties informers,
cache, queue and worker threads together (client-go's informer + workqueue pattern).

Does not: decide anything (`kasset.planning`) or use kopf (`kasset.handlers` hosts the controller).
"""

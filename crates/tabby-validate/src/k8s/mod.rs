//! Kubernetes kinds: conversion into Calico-shaped model objects, as Calico's converters do.

"""One subject-hierarchy folder per grading run of a study: re-running replaces it instead of piling up."""

from __future__ import annotations

from lss.scene.volumes import lss_attribute

STUDY_ATTRIBUTE = lss_attribute("study_uid")


def _hierarchy(scene):
    hierarchy = scene.GetSubjectHierarchyNode()
    if hierarchy is None:
        raise RuntimeError("the MRML scene has no subject hierarchy node")
    return hierarchy


def run_folders(scene, study_uid: str) -> list[int]:
    """Subject-hierarchy item IDs of the LSS folders of a study."""
    hierarchy = _hierarchy(scene)
    from vtk import vtkIdList

    items = vtkIdList()
    hierarchy.GetItemChildren(hierarchy.GetSceneItemID(), items, True)
    return [items.GetId(k) for k in range(items.GetNumberOfIds())
            if hierarchy.GetItemAttribute(items.GetId(k), STUDY_ATTRIBUTE) == study_uid]


def new_run_folder(scene, study_uid: str, name: str) -> int:
    """Remove the study's previous LSS folders (and every node in them), then make a fresh one."""
    hierarchy = _hierarchy(scene)
    for item in run_folders(scene, study_uid):
        for node in folder_nodes(scene, item):  # data nodes first, so the hierarchy never points at removed ones
            scene.RemoveNode(node)
        hierarchy.RemoveItem(item, False, True)
    folder = hierarchy.CreateFolderItem(hierarchy.GetSceneItemID(), name)
    hierarchy.SetItemAttribute(folder, STUDY_ATTRIBUTE, study_uid)
    return folder


def put_in_folder(scene, folder: int, node) -> None:
    """Move a data node's subject-hierarchy item under the folder."""
    hierarchy = _hierarchy(scene)
    item = hierarchy.GetItemByDataNode(node)
    if item == 0:
        item = hierarchy.CreateItem(folder, node)
    hierarchy.SetItemParent(item, folder)


def folder_nodes(scene, folder: int) -> list:
    """The data nodes under a folder (recursively)."""
    hierarchy = _hierarchy(scene)
    from vtk import vtkIdList

    items = vtkIdList()
    hierarchy.GetItemChildren(folder, items, True)
    nodes = [hierarchy.GetItemDataNode(items.GetId(k)) for k in range(items.GetNumberOfIds())]
    return [node for node in nodes if node is not None]
